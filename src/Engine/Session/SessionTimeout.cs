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

/// <summary>How a timeout reads in logs and close reasons.</summary>
internal static class SessionTimeoutText
{
    public static string Describe(this SessionTimeout timeout) => timeout switch
    {
        SessionTimeout.Handshake => "handshake timeout",
        SessionTimeout.Heartbeat => "heartbeat timeout",
        _ => "close timeout",
    };
}
