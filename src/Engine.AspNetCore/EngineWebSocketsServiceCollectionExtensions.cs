using System.Diagnostics.CodeAnalysis;
using Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Engine.AspNetCore;

/// <summary>Registers the WebSocket engine with an ASP.NET Core application, to serve the endpoints <c>MapEngineWebSockets</c> maps.</summary>
public static class EngineWebSocketsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="THandler"/> as the <see cref="IWebSocketHandler"/> (a singleton) and the engine; see
    /// <see cref="AddEngineWebSockets(IServiceCollection, Action{WebSocketEngineOptions}?)"/>.
    /// </summary>
    public static OptionsBuilder<WebSocketEngineOptions> AddEngineWebSockets<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this IServiceCollection services, Action<WebSocketEngineOptions>? configure = null)
        where THandler : class, IWebSocketHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IWebSocketHandler, THandler>();
        return services.AddEngineWebSockets(configure);
    }

    /// <summary>
    /// Registers one <see cref="WebSocketServer"/> for the application, as Engine.Hosting's <c>AddWebSocketEngine</c>
    /// does (the <see cref="IWebSocketHandler"/> from the container, logging and metrics from DI, options validated when
    /// the host starts), except that it listens on no port of its own (<see cref="WebSocketServerOptions.Listen"/> is
    /// false): Kestrel owns the port and <c>MapEngineWebSockets</c> hands the connections over. When the host stops, the
    /// engine closes every connection with 1001 before Kestrel waits for its requests to drain.
    /// </summary>
    public static OptionsBuilder<WebSocketEngineOptions> AddEngineWebSockets(this IServiceCollection services,
        Action<WebSocketEngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<WebSocketEngineOptions> options = services.AddWebSocketEngine(configure);
        services.PostConfigure<WebSocketEngineOptions>(static o => o.Server = o.Server with { Listen = false });
        services.AddHostedService<EngineWebSocketsShutdown>();
        return options;
    }
}
