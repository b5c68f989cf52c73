using Engine.Buffers;
using Engine.Transports;

namespace Engine.Tests.Unit.Buffers;

/// <summary>
/// The event loop's stash in front of the block pool and the send-list pool: a block given back on a loop thread is
/// the next one rented there (no trip through the shared queue), the pool's count of blocks out stays exact, a stash
/// serves only the pool it was filled for, and threads that did not ask for one (thread-pool threads) keep nothing.
/// Each case runs on a thread of its own, since a stash lives as long as its thread.
/// </summary>
public sealed class ThreadStashTests
{
    private const int BlockSize = 1024;

    [Fact]
    public void On_a_stashing_thread_a_returned_block_is_the_next_rented_and_the_count_out_stays_exact()
    {
        OnThreadOfItsOwn(stash: true, () =>
        {
            var pool = new BlockPool(BlockSize, 64);
            byte[] first = pool.Rent();
            byte[] second = pool.Rent();
            Assert.Equal(2, pool.Outstanding);
            pool.Return(first);
            pool.Return(second);
            Assert.Equal(0, pool.Outstanding);
            Assert.Same(second, pool.Rent()); // last in, first out: the block still warm in the cache
            Assert.Same(first, pool.Rent());
            Assert.Equal(2, pool.Outstanding);
        });
    }

    [Fact]
    public void A_thread_that_did_not_ask_for_a_stash_gives_blocks_back_to_the_shared_pool()
    {
        var pool = new BlockPool(BlockSize, 64);
        byte[] block = null!;
        OnThreadOfItsOwn(stash: false, () =>
        {
            block = pool.Rent();
            pool.Return(block);
        });
        // Another thread finds it in the shared pool: nothing was held back by the one that returned it.
        OnThreadOfItsOwn(stash: false, () => Assert.Same(block, pool.Rent()));
    }

    [Fact]
    public void A_stash_serves_only_its_own_pool_and_a_return_to_another_pool_starts_it_over()
    {
        OnThreadOfItsOwn(stash: true, () =>
        {
            var first = new BlockPool(BlockSize, 64);
            var second = new BlockPool(BlockSize, 64);
            byte[] mine = first.Rent();
            first.Return(mine);
            byte[] other = second.Rent();
            Assert.NotSame(mine, other); // the stash holds first's block: second must not hand it out
            second.Return(other);        // the stash now serves second; first's block is dropped, not lent across
            Assert.Same(other, second.Rent());
            Assert.NotSame(mine, first.Rent());
            Assert.Equal(1, first.Outstanding);
            Assert.Equal(1, second.Outstanding);
        });
    }

    [Fact]
    public void A_full_stash_sends_further_returns_to_the_shared_pool()
    {
        OnThreadOfItsOwn(stash: true, () =>
        {
            var pool = new BlockPool(BlockSize, 64);
            var blocks = new byte[ConnectionBuffers.KeptPerLoop + 1][];
            for (int i = 0; i < blocks.Length; i++)
            {
                blocks[i] = pool.Rent();
            }
            foreach (byte[] block in blocks)
            {
                pool.Return(block);
            }
            Assert.Equal(0, pool.Outstanding);
            byte[] fromShared = null!;
            OnThreadOfItsOwn(stash: false, () => fromShared = pool.Rent());
            Assert.Same(blocks[^1], fromShared); // the last did not fit the full stash
        });
    }

    [Fact]
    public void Send_lists_come_back_from_the_stash_reset()
    {
        OnThreadOfItsOwn(stash: true, () =>
        {
            var pool = SendLists.CreatePool(4);
            SendLists lists = pool.Get();
            lists.PendingCount = 1;
            lists.BacklogMark = 42;
            pool.Return(lists);
            SendLists again = pool.Get();
            Assert.Same(lists, again);
            Assert.Equal(0, again.PendingCount);
            Assert.Equal(0, again.BacklogMark);
        });
    }

    private static void OnThreadOfItsOwn(bool stash, Action test)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (stash)
                {
                    ConnectionBuffers.StashOnThisThread();
                }
                test();
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
