namespace Engine.Client;

/// <summary>What kind of problem an <see cref="EngineClientException"/> reports.</summary>
public enum EngineClientErrorKind
{
    /// <summary>The outgoing queue is full (the message was not queued).</summary>
    QueueFull,
    /// <summary>The client is closed (after <see cref="EngineClient.CloseAsync"/> or when the retries ran out).</summary>
    NotConnected,
    /// <summary>The server answered <c>{"type":"error"}</c>.</summary>
    Server,
    /// <summary>The connection failed or dropped.</summary>
    Socket,
    /// <summary>The reconnection attempts ran out.</summary>
    RetriesExhausted,
    /// <summary>The server closed with 4001: reconnecting with the same token cannot help.</summary>
    Unauthorized,
    /// <summary>A file request failed.</summary>
    File,
}
