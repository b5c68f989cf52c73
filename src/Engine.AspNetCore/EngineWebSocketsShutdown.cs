using Microsoft.Extensions.Hosting;

namespace Engine.AspNetCore;

/// <summary>
/// Stops the engine when the host begins to stop, before any hosted service's StopAsync. Kestrel stops first among those
/// (WebApplication registers it last) and waits for its requests to finish, and every engine connection is such a
/// request: closing them with 1001 first lets it drain at once instead of aborting them at the shutdown timeout.
/// Engine.Hosting's service started the server and its later StopAsync finds it stopped.
/// </summary>
internal sealed class EngineWebSocketsShutdown(WebSocketServer server) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
