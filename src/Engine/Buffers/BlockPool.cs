using System.Collections.Concurrent;

namespace Engine.Buffers;

/// <summary>
/// Fixed-size pinned byte blocks for receive and send buffers (the Kestrel PinnedBlockMemoryPool idea): pinned on
/// the POH so sockets never pin per operation and the heap does not fragment. One pool per server, no global state.
/// <see cref="Outstanding"/> counts rentals not yet returned, so tests and the soak can prove nothing leaks.
/// </summary>
internal sealed class BlockPool
{
    private readonly ConcurrentQueue<byte[]> _free = new();
    private readonly int _maxRetained;
    private int _retained;
    private long _outstanding;

    public BlockPool(int blockSize, int maxRetained)
    {
        BlockSize = blockSize;
        _maxRetained = maxRetained;
    }

    public int BlockSize { get; }

    /// <summary>Blocks rented and not yet returned.</summary>
    public long Outstanding => Interlocked.Read(ref _outstanding);

    public byte[] Rent()
    {
        Interlocked.Increment(ref _outstanding);
        if (_free.TryDequeue(out byte[]? block))
        {
            Interlocked.Decrement(ref _retained);
            return block;
        }
        return GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
    }

    public void Return(byte[] block)
    {
        System.Diagnostics.Debug.Assert(block.Length == BlockSize, "a block from another pool");
        Interlocked.Decrement(ref _outstanding);
        // Bounded: after a burst (many connections active at once) the surplus goes back to the GC.
        if (Interlocked.Increment(ref _retained) <= _maxRetained)
        {
            _free.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _retained);
        }
    }
}
