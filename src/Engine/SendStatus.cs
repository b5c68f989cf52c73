namespace Engine;

/// <summary>What happened to a message handed to <see cref="WebSocketConnection.Send(ReadOnlySpan{byte}, MessageType)"/>. Never a silent drop.</summary>
public enum SendStatus : byte
{
    /// <summary>Queued for sending; it goes out in order, before any close frame.</summary>
    Queued,
    /// <summary>Not sent: the connection is closing or closed.</summary>
    Closed,
    /// <summary>Not sent: the connection's send queue is over <see cref="WebSocketServerOptions.MaxBufferedBytes"/> (the peer reads too slowly).</summary>
    Backpressure,
}
