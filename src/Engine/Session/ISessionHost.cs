using Engine.Protocol;

namespace Engine.Session;

/// <summary>
/// What a <see cref="WebSocketSession"/> reports to the layer above it (the connection facade). Called on the session's
/// receive thread, except <see cref="OnTimeout"/> (timer thread) and <see cref="OnEnded"/> (whichever thread ended
/// the transport). Calls go one way: the host answers through the session's methods, never by being called back.
/// </summary>
internal interface ISessionHost
{
    /// <summary>A valid upgrade request: accept it (101) or reject it.</summary>
    UpgradeDecision OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head);

    /// <summary>A plain HTTP request; null means 426.</summary>
    HttpResponse? OnHttpRequest(ReadOnlySpan<byte> buffer, in HttpRequestHead head);

    void OnOpen();

    void OnMessage(ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage);

    /// <summary>The WebSocket part is over (close handshake done, failed, or sent after an error): the code and reason to report once.</summary>
    void OnClosed(CloseCode code, ReadOnlySpan<byte> reason);

    /// <summary>The handshake was refused with <paramref name="status"/> (0: no response, the handshake timed out). For metrics and logs.</summary>
    void OnHandshakeRejected(int status, HandshakeRejection reason)
    {
    }

    /// <summary>The peer broke the protocol; the session is failing the connection with the error's close code. For logs.</summary>
    void OnProtocolError(ProtocolError error)
    {
    }

    /// <summary>A deadline passed that ends the connection without a handshake (handshake, heartbeat or close timeout).</summary>
    void OnTimeout(SessionTimeout timeout);

    /// <summary>The connection is gone (all I/O has stopped; <paramref name="error"/> is null for an orderly end). Once.</summary>
    void OnEnded(Exception? error);
}
