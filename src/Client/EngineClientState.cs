namespace Engine.Client;

/// <summary>The client's state.</summary>
public enum EngineClientState
{
    /// <summary>Not started.</summary>
    Idle,
    /// <summary>TCP connect and handshake.</summary>
    Connecting,
    /// <summary>Open, the token sent, waiting for <c>authenticated</c>.</summary>
    Authenticating,
    /// <summary>Ready: sends go out at once.</summary>
    Open,
    /// <summary>Waiting out the backoff before the next attempt.</summary>
    Reconnecting,
    /// <summary>Closed for good (closed by the caller, 4001, or retries exhausted).</summary>
    Closed,
}
