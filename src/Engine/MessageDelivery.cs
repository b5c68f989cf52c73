namespace Engine;

/// <summary>How received messages reach the handler.</summary>
public enum MessageDelivery : byte
{
    /// <summary>Whole messages through <see cref="IWebSocketHandler.OnMessage"/>; fragments are assembled in a pooled buffer up to the size limit.</summary>
    Whole,
    /// <summary>Pieces as they arrive through <see cref="IWebSocketHandler.OnMessageFragment"/>; nothing is buffered, so huge messages cost no memory.</summary>
    Streamed,
}
