namespace Engine.Hosting;

/// <summary>
/// The Options-pattern holder of a hosted engine's settings. <see cref="WebSocketServerOptions"/> is an immutable record,
/// so configure it by replacing it: <c>o =&gt; o.Server = o.Server with { Port = 9000 }</c>; configuration binding
/// (<c>.BindConfiguration("WebSocket")</c>) sets its properties under the key <c>Server</c>. Validated at start-up with
/// <see cref="WebSocketServerOptions.Validate"/>.
/// </summary>
public sealed class WebSocketEngineOptions
{
    /// <summary>
    /// The server's settings. <see cref="WebSocketServerOptions.LoggerFactory"/> and
    /// <see cref="WebSocketServerOptions.MeterFactory"/> left null are filled from dependency injection.
    /// </summary>
    public WebSocketServerOptions Server { get; set; } = new();
}
