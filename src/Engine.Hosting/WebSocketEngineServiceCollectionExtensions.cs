using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engine.Hosting;

/// <summary>Registers the WebSocket engine with a Generic Host (<see cref="IServiceCollection"/>).</summary>
public static class WebSocketEngineServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="THandler"/> as the <see cref="IWebSocketHandler"/> (a singleton) and the engine; see
    /// <see cref="AddWebSocketEngine(IServiceCollection, Action{WebSocketEngineOptions}?)"/>.
    /// </summary>
    public static OptionsBuilder<WebSocketEngineOptions> AddWebSocketEngine<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this IServiceCollection services, Action<WebSocketEngineOptions>? configure = null)
        where THandler : class, IWebSocketHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IWebSocketHandler, THandler>();
        return services.AddWebSocketEngine(configure);
    }

    /// <summary>
    /// Registers a <see cref="WebSocketServer"/> singleton (running the <see cref="IWebSocketHandler"/> from the container,
    /// logging through its <see cref="ILoggerFactory"/> and measuring through its <see cref="IMeterFactory"/>) and a
    /// <see cref="WebSocketEngineService"/> that starts and stops it with the host. Settings come from the Options pattern
    /// (<see cref="WebSocketEngineOptions"/>) and are validated when the host starts (<c>ValidateOnStart</c>): bad settings
    /// fail the start with <see cref="OptionsValidationException"/>. Returns the options builder, so configuration can be
    /// bound: <c>.BindConfiguration("WebSocket")</c>. One engine per container.
    /// </summary>
    public static OptionsBuilder<WebSocketEngineOptions> AddWebSocketEngine(this IServiceCollection services,
        Action<WebSocketEngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<WebSocketEngineOptions> options = services.AddOptions<WebSocketEngineOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebSocketEngineOptions>, WebSocketEngineOptionsValidator>());
        services.TryAddSingleton(static provider =>
        {
            WebSocketServerOptions settings = provider.GetRequiredService<IOptions<WebSocketEngineOptions>>().Value.Server;
            settings = settings with
            {
                LoggerFactory = settings.LoggerFactory ?? provider.GetService<ILoggerFactory>(),
                MeterFactory = settings.MeterFactory ?? provider.GetService<IMeterFactory>(),
            };
            return new WebSocketServer(settings, provider.GetRequiredService<IWebSocketHandler>());
        });
        services.AddHostedService<WebSocketEngineService>();
        return options;
    }
}
