namespace Engine.Client;

/// <summary>The opening handshake failed: the server refused the upgrade or answered something RFC 6455 §4.1 says to reject.</summary>
public sealed class WebSocketHandshakeException(string message) : Exception(message);

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

/// <summary>An error of the <see cref="EngineClient"/>: thrown by sends, and raised through <see cref="EngineClient.Error"/>.</summary>
public sealed class EngineClientException(EngineClientErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>What went wrong.</summary>
    public EngineClientErrorKind Kind { get; } = kind;
}
