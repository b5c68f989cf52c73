using Microsoft.Extensions.Hosting;

namespace Engine.Hosting;

/// <summary>
/// Runs the registered <see cref="WebSocketServer"/> for the lifetime of the host: binds and accepts in
/// <see cref="StartAsync"/>, closes every connection with 1001 in <see cref="StopAsync"/> (waiting for replies up to
/// <see cref="WebSocketServerOptions.ShutdownTimeout"/> or until the host's shutdown token fires, then aborting the rest).
/// </summary>
public sealed class WebSocketEngineService : IHostedService
{
    /// <summary>Creates the service for <paramref name="server"/> (registered by <c>AddWebSocketEngine</c>).</summary>
    public WebSocketEngineService(WebSocketServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        Server = server;
    }

    /// <summary>The server this service runs (also resolvable from the container as <see cref="WebSocketServer"/>).</summary>
    public WebSocketServer Server { get; }

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Server.StartAsync(cancellationToken);

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Server.StopAsync(cancellationToken);
}
