using System.Diagnostics.Metrics;
using Engine;
using Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Host;

/// <summary>Registers the standalone Host with a Generic Host, the way an application embeds the engine (docs/embedding.md).</summary>
public static class HostServiceCollectionExtensions
{
    /// <summary>
    /// Registers what <paramref name="settings"/> ask for: the handler of their mode, the backplane, the diagnostics
    /// endpoints, sd_notify (<see cref="SystemdNotifier"/>: READY=1 and STOPPING=1 when <c>NOTIFY_SOCKET</c> is set), the
    /// Host's lifecycle steps, and the engine itself through <c>AddWebSocketEngine</c>, which logs and meters through the
    /// host's <see cref="ILoggerFactory"/> and <see cref="IMeterFactory"/>.
    /// </summary>
    public static IServiceCollection AddHost(this IServiceCollection services, HostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        var diagnostics = new DiagnosticsEndpoints();
        IWebSocketHandler handler = settings.Mode switch
        {
            HostSettings.HostMode.App => new AppHandler(settings.App, diagnostics, new HostMetrics()),
            HostSettings.HostMode.Broadcast => new BroadcastHandler(diagnostics),
            _ => new EchoHandler(diagnostics),
        };
        IPubSubBackplane? backplane = settings.Backplane is null ? null : BackplaneFactory.Create(settings.Backplane, settings.History);
        // Instances rather than factories, so the container does not dispose them: HostLifecycle does, in order, once the
        // engine has stopped (the handler's sweep and the broker connection outlive the last 1001).
        services.AddSingleton(handler);
        services.TryAddSingleton<ISystemdNotifier, SystemdNotifier>();
        // Registered before the engine's service: the host starts services in registration order and stops them in reverse.
        services.AddHostedService(provider => new HostLifecycle(settings, handler, diagnostics, backplane,
            provider.GetRequiredService<WebSocketServer>(), provider.GetRequiredService<IMeterFactory>(),
            provider.GetRequiredService<ISystemdNotifier>(), provider.GetRequiredService<ILoggerFactory>()));
        services.AddWebSocketEngine(options => options.Server = settings.Server);
        // The engine bounds its own drain (WS_SHUTDOWN_TIMEOUT, then it aborts the rest and waits up to 5 s for them); the
        // host's timeout, which cancels the stop, must not cut that short. The margin also covers closing the broker.
        services.Configure<HostOptions>(options => options.ShutdownTimeout = settings.Server.ShutdownTimeout + TimeSpan.FromSeconds(10));
        // The Host logs its own start and stop lines (HostLog); the console lifetime's banner would only repeat them.
        services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        return services;
    }
}
