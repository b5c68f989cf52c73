using System.Buffers;
using System.Collections.Concurrent;

namespace Engine.Buffers;

/// <summary>
/// The <see cref="SharedBuffer"/> objects of one server, reused so that a publish allocates nothing in steady state (the
/// holder was the one 56-byte object a publish still allocated; its bytes were already pooled). One per server, no global
/// state. Any thread may rent (publishers) and any thread may return (the loop thread that sent the last reference, or
/// the thread disposing a queue): the free list is a concurrent queue, which in steady state reuses its ring and
/// allocates nothing. Bounded like <see cref="BlockPool"/>: after a burst the surplus goes back to the GC.
/// </summary>
internal sealed class SharedBufferPool
{
    private readonly ConcurrentQueue<SharedBuffer> _free = new();
    private readonly int _maxRetained;
    private int _retained;

    /// <param name="blocks">Where a buffer that fits one block takes its bytes (pinned).</param>
    /// <param name="large">Where a larger buffer takes its bytes.</param>
    /// <param name="maxRetained">How many idle holders are kept at most.</param>
    public SharedBufferPool(BlockPool blocks, ArrayPool<byte> large, int maxRetained)
    {
        Blocks = blocks;
        Large = large;
        _maxRetained = maxRetained;
    }

    public BlockPool Blocks { get; }

    public ArrayPool<byte> Large { get; }

    /// <summary>Idle holders kept for the next rent.</summary>
    public int Retained => Volatile.Read(ref _retained);

    /// <summary>
    /// A buffer of <paramref name="length"/> bytes: a pinned pool block when it fits one, else an array from
    /// <see cref="Large"/>. The caller holds the only reference and fills <see cref="SharedBuffer.Span"/> before sharing it.
    /// </summary>
    public SharedBuffer Rent(int length)
    {
        bool pinned = length <= Blocks.BlockSize;
        byte[] array = pinned ? Blocks.Rent() : Large.Rent(length);
        if (_free.TryDequeue(out SharedBuffer? buffer))
        {
            Interlocked.Decrement(ref _retained);
        }
        else
        {
            buffer = new SharedBuffer(this);
        }
        buffer.Reset(array, length, pinned);
        return buffer;
    }

    /// <summary>Called by the buffer's last <see cref="SharedBuffer.Release"/>: its bytes go back, the holder is kept.</summary>
    internal void Return(SharedBuffer buffer, byte[] array, bool pinned)
    {
        if (pinned)
        {
            Blocks.Return(array);
        }
        else
        {
            Large.Return(array);
        }
        if (Interlocked.Increment(ref _retained) <= _maxRetained)
        {
            _free.Enqueue(buffer);
        }
        else
        {
            Interlocked.Decrement(ref _retained);
        }
    }
}
