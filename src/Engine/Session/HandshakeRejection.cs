namespace Engine.Session;

/// <summary>Why an upgrade attempt did not become a WebSocket connection (the <c>websocket.reject_reason</c> metric tag).</summary>
internal enum HandshakeRejection : byte
{
    /// <summary>The HTTP request head could not be parsed or was too large (400, 431).</summary>
    BadRequest,
    /// <summary>A parsed request that is not a valid RFC 6455 upgrade (400, 405, 505, 426 for an unsupported version).</summary>
    InvalidHandshake,
    /// <summary>A plain HTTP request that no HTTP hook answered (426 Upgrade Required).</summary>
    NotUpgrade,
    /// <summary>The application's <see cref="IWebSocketHandler.OnUpgrade"/> said no.</summary>
    Application,
    /// <summary>Over <see cref="WebSocketServerOptions.MaxConnections"/> (503).</summary>
    MaxConnections,
    /// <summary>The upgrade hook threw or chose a subprotocol the client did not offer (500).</summary>
    HandlerError,
    /// <summary>The handshake did not complete within <see cref="WebSocketServerOptions.HandshakeTimeout"/> (no response is sent).</summary>
    Timeout,
}
