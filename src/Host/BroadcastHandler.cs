using Engine;

namespace Host;

/// <summary>
/// Sends every message to every other connected client through the engine's pub/sub (one channel everyone joins):
/// framed once, the same buffer queued to all. The benchmark's fan-out scenario measures it.
/// </summary>
public sealed class BroadcastHandler(DiagnosticsEndpoints? diagnostics = null) : IWebSocketHandler
{
    private const string Everyone = "all";

    /// <inheritdoc/>
    public HttpResponse? OnHttpRequest(RequestHead request) => diagnostics?.Handle(request);

    /// <inheritdoc/>
    public void OnOpen(WebSocketConnection connection) => connection.Server.PubSub.Subscribe(connection, Everyone);

    /// <inheritdoc/>
    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type) =>
        connection.Server.PubSub.Publish(Everyone, payload, type, exclude: connection);
}
