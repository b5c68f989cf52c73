namespace Engine.Session;

/// <summary>A deadline that ends a connection without a close handshake (<see cref="ISessionHost.OnTimeout"/>).</summary>
internal enum SessionTimeout : byte
{
    /// <summary>The opening handshake did not complete within the handshake timeout.</summary>
    Handshake,
    /// <summary>No pong (or any frame) answered a ping within the heartbeat timeout.</summary>
    Heartbeat,
    /// <summary>The peer did not answer our close frame within the close timeout.</summary>
    Close,
}
