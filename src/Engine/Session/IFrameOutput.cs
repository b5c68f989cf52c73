using System.Buffers;
using Engine.Buffers;

namespace Engine.Session;

/// <summary>
/// Where a session's outgoing bytes go: the send queue of the transport that carries the connection (the transport
/// creates and disposes it). Bytes leave in the order they were written. A write copies what it is given, except a
/// <see cref="SharedBuffer"/>, of which the output takes its own reference. Any thread may write.
/// </summary>
internal interface IFrameOutput
{
    /// <summary>Bytes written and not yet handed to the kernel.</summary>
    long BufferedBytes { get; }

    /// <summary>Whether the final bytes (a close frame, an HTTP response) are written: nothing may follow.</summary>
    bool IsCompleted { get; }

    /// <summary>
    /// Remembers how many bytes are buffered now, so that <see cref="DrainedSinceMark"/> can tell later whether the
    /// output is draining (the close handshake waits behind a backlog only while it drains).
    /// </summary>
    void MarkBacklog();

    /// <summary>
    /// Whether bytes are still buffered and fewer than at the last <see cref="MarkBacklog"/>. The mark is forgotten once
    /// nothing is buffered (then there is nothing to drain: false).
    /// </summary>
    bool DrainedSinceMark { get; }

    /// <summary>
    /// Appends <paramref name="header"/> then <paramref name="body"/> as one unit. Refused once completed, or when
    /// <paramref name="limit"/> would be passed (an empty output takes any one write; replies written during the
    /// transport's own receive batch are never refused). <paramref name="final"/>: nothing may follow.
    /// </summary>
    EnqueueResult TryWrite(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, long limit, bool final);

    /// <summary>Appends a reference to bytes shared with other outputs; same rules as the write above, but the limit always applies.</summary>
    EnqueueResult TryWrite(SharedBuffer buffer, long limit);

    /// <summary>
    /// Writes an HTTP response through <paramref name="write"/> (the 101 that frames follow, or a refusal after which the
    /// connection ends: <paramref name="final"/>).
    /// </summary>
    void WriteHttp<TState>(TState state, Action<IBufferWriter<byte>, TState> write, bool final)
        where TState : allows ref struct;
}
