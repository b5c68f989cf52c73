namespace Engine.Protocol;

internal enum HandshakeKind : byte
{
    /// <summary>A valid WebSocket upgrade request.</summary>
    Upgrade,
    /// <summary>A plain HTTP request (no <c>Upgrade: websocket</c>): handed to the HTTP fallback.</summary>
    PlainHttp,
    /// <summary>An upgrade request that breaks RFC 6455 §4.2.1; answered with the status.</summary>
    Rejected,
}
