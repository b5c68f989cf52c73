using System.Buffers;
using Engine.Buffers;

namespace Engine.Tests.Unit.Buffers;

/// <summary>
/// The pub/sub frame holders: a holder comes back only with its last reference, is handed out again reset, keeps its
/// bytes apart from the next renter's, and the pool keeps no more idle holders than its bound.
/// </summary>
public sealed class SharedBufferPoolTests
{
    private const int BlockSize = 1024;

    [Fact]
    public void The_last_release_returns_holder_and_bytes_and_the_next_rent_reuses_the_holder_reset()
    {
        var blocks = new BlockPool(BlockSize, 16);
        var pool = new SharedBufferPool(blocks, ArrayPool<byte>.Shared, 4);
        SharedBuffer first = pool.Rent(10);
        Assert.True(first.IsPinned);
        Assert.Equal(10, first.Length);
        Assert.Equal(1, blocks.Outstanding);
        first.Release();
        Assert.Equal(0, blocks.Outstanding);
        Assert.Equal(1, pool.Retained);

        SharedBuffer again = pool.Rent(BlockSize * 3); // larger than a block: an array from the large pool
        Assert.Same(first, again);
        Assert.Equal(0, pool.Retained);
        Assert.False(again.IsPinned);
        Assert.Equal(BlockSize * 3, again.Length);
        Assert.True(again.Array.Length >= BlockSize * 3);
        Assert.Equal(0, blocks.Outstanding);
        again.Release();
        Assert.Equal(1, pool.Retained);
    }

    [Fact]
    public void A_holder_is_not_reused_while_any_reference_is_held()
    {
        var blocks = new BlockPool(BlockSize, 16);
        var pool = new SharedBufferPool(blocks, ArrayPool<byte>.Shared, 4);
        SharedBuffer shared = pool.Rent(5);
        "first"u8.CopyTo(shared.Span);
        shared.AddReference(); // two queues
        shared.AddReference();
        shared.Release(); // the creator's reference

        SharedBuffer other = pool.Rent(5); // while two queues still hold the first
        Assert.NotSame(shared, other);
        Assert.NotSame(shared.Array, other.Array);
        "other"u8.CopyTo(other.Span);
        Assert.Equal("first"u8.ToArray(), shared.Span.ToArray());

        shared.Release();
        Assert.Equal(0, pool.Retained); // one queue still holds it
        Assert.Equal(2, blocks.Outstanding);
        shared.Release();
        Assert.Equal(1, pool.Retained);
        Assert.Equal(1, blocks.Outstanding);
        Assert.Same(shared, pool.Rent(5));
        other.Release();
    }

    [Fact]
    public void Idle_holders_are_retained_up_to_the_bound()
    {
        var blocks = new BlockPool(BlockSize, 16);
        var pool = new SharedBufferPool(blocks, ArrayPool<byte>.Shared, 3);
        SharedBuffer[] burst = [.. Enumerable.Range(0, 8).Select(_ => pool.Rent(100))];
        Assert.Equal(8, burst.Distinct().Count());
        foreach (SharedBuffer buffer in burst)
        {
            buffer.Release();
        }
        Assert.Equal(3, pool.Retained);
        Assert.Equal(0, blocks.Outstanding); // the bytes all go back, whether the holder is kept or not

        SharedBuffer[] next = [.. Enumerable.Range(0, 8).Select(_ => pool.Rent(100))];
        Assert.Equal(3, next.Count(burst.Contains)); // the three kept, then new ones
        Assert.Equal(0, pool.Retained);
        foreach (SharedBuffer buffer in next)
        {
            buffer.Release();
        }
    }

    [Fact]
    public async Task Rents_and_last_releases_on_different_threads_never_share_a_live_holder()
    {
        // Publishers rent on their threads while loop threads release: every rented holder must be exclusively the
        // renter's until its last release. Each renter stamps its bytes and checks them after the queues "sent" them.
        var blocks = new BlockPool(BlockSize, 64);
        var pool = new SharedBufferPool(blocks, ArrayPool<byte>.Shared, 8);
        var handOff = new System.Collections.Concurrent.BlockingCollection<(SharedBuffer Buffer, int Stamp)>(64);
        int corrupted = 0;
        Task releaser = Task.Run(() =>
        {
            foreach ((SharedBuffer buffer, int stamp) in handOff.GetConsumingEnumerable())
            {
                if (BitConverter.ToInt32(buffer.Span) != stamp)
                {
                    Interlocked.Increment(ref corrupted);
                }
                buffer.Release(); // the "queue's" reference, last
            }
        });
        Task[] publishers = [.. Enumerable.Range(0, 2).Select(p => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                int stamp = (p << 24) | i;
                SharedBuffer buffer = pool.Rent(8);
                BitConverter.TryWriteBytes(buffer.Span, stamp);
                buffer.AddReference();
                handOff.Add((buffer, stamp));
                buffer.Release(); // the publisher's reference
            }
        }))];
        await Task.WhenAll(publishers);
        handOff.CompleteAdding();
        await releaser;
        Assert.Equal(0, corrupted);
        Assert.Equal(0, blocks.Outstanding);
        Assert.InRange(pool.Retained, 1, 8);
    }
}
