using Engine;

namespace Host;

/// <summary>
/// Echoes every message back to its sender (for the conformance suite and the benchmarks). It counts nothing itself: the
/// engine's <c>websocket.server.messages.sent</c> counter is the number of echoes accepted into a send queue.
/// </summary>
public sealed class EchoHandler(DiagnosticsEndpoints? diagnostics = null) : IWebSocketHandler
{
    /// <inheritdoc/>
    public HttpResponse? OnHttpRequest(RequestHead request) => diagnostics?.Handle(request);

    /// <inheritdoc/>
    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type) => connection.Send(payload, type);
}
