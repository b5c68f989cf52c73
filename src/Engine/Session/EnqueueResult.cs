namespace Engine.Session;

/// <summary>What became of bytes written to an <see cref="IFrameOutput"/>.</summary>
internal enum EnqueueResult : byte
{
    /// <summary>Queued; the output sends them (and asks its transport to flush when that is due).</summary>
    Queued,
    /// <summary>Refused: the final frame (close, or an HTTP response) is already queued.</summary>
    Completed,
    /// <summary>Refused: the queue is over its limit (a slow peer).</summary>
    OverLimit,
}
