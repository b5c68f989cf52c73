namespace Engine;

/// <summary>
/// The application side of a <see cref="WebSocketServer"/>. Callbacks for one connection never run concurrently;
/// they run on the engine's I/O threads, so they must not block (hand slow work to another thread and
/// <see cref="WebSocketConnection.Send(ReadOnlySpan{byte}, MessageType)"/> the result from there: Send is thread-safe).
/// An exception thrown by a callback is reported to <see cref="OnError"/> and closes that connection with 1011.
/// </summary>
public interface IWebSocketHandler
{
    /// <summary>
    /// Decides on a valid upgrade request before the 101 answer: check Origin, authenticate, pick a subprotocol.
    /// The request view is valid only during this call. Default: accept with no subprotocol.
    /// </summary>
    UpgradeDecision OnUpgrade(RequestHead request) => UpgradeDecision.Accept();

    /// <summary>Answers a plain HTTP request on the same port; null means 426 Upgrade Required. The view is valid only during this call.</summary>
    HttpResponse? OnHttpRequest(RequestHead request) => null;

    /// <summary>The connection is open; sending is allowed from here on.</summary>
    void OnOpen(WebSocketConnection connection)
    {
    }

    /// <summary>
    /// A whole message (with <see cref="MessageDelivery.Whole"/>). <paramref name="payload"/> is valid only during this
    /// call (it lives in a pooled buffer); copy what you keep. Text payloads are validated UTF-8.
    /// </summary>
    void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type);

    /// <summary>
    /// A piece of a message (with <see cref="MessageDelivery.Streamed"/>): pieces arrive in order, the last one with
    /// <paramref name="endOfMessage"/> set. Text pieces may split a UTF-8 sequence; the message as a whole is validated.
    /// </summary>
    void OnMessageFragment(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage) =>
        throw new NotSupportedException("MessageDelivery.Streamed needs OnMessageFragment to be implemented.");

    /// <summary>
    /// The connection has ended, exactly once per opened connection. <paramref name="code"/> is the peer's close code,
    /// the code the server sent when it closed first, or 1006 when the connection dropped without a close handshake.
    /// </summary>
    void OnClose(WebSocketConnection connection, CloseCode code, string reason)
    {
    }

    /// <summary>A callback threw, or the transport failed unexpectedly.</summary>
    void OnError(WebSocketConnection connection, Exception exception)
    {
    }
}
