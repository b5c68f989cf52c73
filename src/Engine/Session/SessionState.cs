namespace Engine.Session;

internal enum SessionState
{
    /// <summary>Reading the HTTP request head.</summary>
    Handshake,
    /// <summary>Upgraded; messages flow both ways.</summary>
    Open,
    /// <summary>We sent a close frame and wait for the peer's.</summary>
    CloseSent,
    /// <summary>The close handshake is over (or failed, or an HTTP response was sent): only TCP teardown is left.</summary>
    Closed,
}
