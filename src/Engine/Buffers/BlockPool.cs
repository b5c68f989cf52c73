using System.Collections.Concurrent;

namespace Engine.Buffers;

/// <summary>
/// Fixed-size pinned byte blocks for receive and send buffers (the Kestrel PinnedBlockMemoryPool idea): pinned on
/// the POH so sockets never pin per operation and the heap does not fragment. One pool per server, no global state.
/// <see cref="Outstanding"/> counts rentals not yet returned, so tests and the soak can prove nothing leaks. An event
/// loop's thread keeps a few returned blocks in its <see cref="ThreadStash{T}"/> (a receive batch's reply block comes
/// back on the loop when its send completes): the shared queue and its counts cost four interlocked instructions per
/// block otherwise.
/// </summary>
internal sealed class BlockPool
{
    [ThreadStatic]
    private static ThreadStash<byte[]>? _kept;

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

    /// <summary>Lets the calling thread (an event loop's) keep up to <paramref name="capacity"/> returned blocks of any pool's; for the life of the thread.</summary>
    public static void KeepOnThisThread(int capacity) => _kept ??= new ThreadStash<byte[]>(capacity);

    public byte[] Rent()
    {
        Interlocked.Increment(ref _outstanding);
        if (_kept is { } stash && stash.TryTake(this, out byte[] kept))
        {
            return kept;
        }
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
        if (_kept is { } stash && stash.TryPut(this, block))
        {
            return;
        }
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
