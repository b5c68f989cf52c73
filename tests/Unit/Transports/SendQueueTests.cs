using System.Buffers;
using Engine.Buffers;
using Engine.Protocol;
using Engine.Session;
using Engine.Tests.Unit.Session;
using Engine.Transports;

namespace Engine.Tests.Unit.Transports;

/// <summary>The send queue moves bytes; these tests write frames into it (header, then body) as the session does.</summary>
public class SendQueueTests
{
    private const int BlockSize = 1024;

    private static EnqueueResult Write(SendQueue queue, Opcode opcode, ReadOnlySpan<byte> payload, long limit, bool final = false)
    {
        Span<byte> header = stackalloc byte[FrameReader.MaxHeaderLength];
        int length = FrameWriter.WriteHeader(header, opcode, fin: true, payload.Length);
        return queue.TryWrite(header.Slice(0, length), payload, limit, final);
    }

    /// <summary>Plays a transport whose sends accept at most <paramref name="sendSize"/> bytes each.</summary>
    private static byte[] Drain(SendQueue queue, int sendSize)
    {
        var sent = new List<byte>();
        while (queue.TryBeginSend())
        {
            do
            {
                bool done;
                do
                {
                    int budget = sendSize;
                    foreach (SendSegment segment in queue.GetInFlight())
                    {
                        int take = Math.Min(budget, segment.Count);
                        sent.AddRange(segment.Array.AsSpan(segment.Offset, take));
                        budget -= take;
                        if (budget == 0)
                        {
                            break;
                        }
                    }
                    done = queue.OnSent(sendSize - budget);
                }
                while (!done);
            }
            while (queue.TryContinueSend());
        }
        return [.. sent];
    }

    private static List<(Opcode Opcode, byte[] Payload)> ParseFrames(byte[] bytes)
    {
        var frames = new List<(Opcode, byte[])>();
        int position = 0;
        while (position < bytes.Length)
        {
            Assert.Equal(OperationStatus.Done, FrameReader.TryReadHeader(bytes.AsSpan(position), out FrameHeader header, out int consumed));
            Assert.True(header.Fin);
            Assert.False(header.Masked);
            position += consumed;
            frames.Add((header.Opcode, bytes.AsSpan(position, (int)header.PayloadLength).ToArray()));
            position += (int)header.PayloadLength;
        }
        return frames;
    }

    public static TheoryData<int> SendSizes => [1, 7, 1000, 1024, 1 << 20];

    [Theory]
    [MemberData(nameof(SendSizes))]
    public void Frames_around_the_block_size_come_out_whole_and_in_order_however_the_sends_are_cut(int sendSize)
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new SendQueue(pool);
        int[] sizes = [0, 1, 125, 126, 1000, BlockSize - 4, BlockSize - 3, BlockSize, BlockSize + 1, 3 * BlockSize + 17, 65535, 65536, 70_000, 5];
        var expected = new List<byte[]>();
        var random = new Random(sendSize);
        foreach (int size in sizes)
        {
            byte[] payload = new byte[size];
            random.NextBytes(payload);
            expected.Add(payload);
            Assert.Equal(EnqueueResult.Queued, Write(queue, Opcode.Binary, payload, long.MaxValue));
        }
        Assert.Equal(sizes.Sum(s => FrameWriter.HeaderLength(s, masked: false) + s), queue.BufferedBytes);

        List<(Opcode Opcode, byte[] Payload)> frames = ParseFrames(Drain(queue, sendSize));
        Assert.Equal(expected.Count, frames.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(Opcode.Binary, frames[i].Opcode);
            Assert.True(expected[i].AsSpan().SequenceEqual(frames[i].Payload), $"frame {i} ({expected[i].Length} B) differs");
        }
        Assert.Equal(0, queue.BufferedBytes);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_backlog_mark_tells_whether_the_queue_drained_since_and_is_forgotten_once_it_is_empty()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new SendQueue(new ConnectionBuffers(pool, SendLists.CreatePool(4), long.MaxValue));
        queue.MarkBacklog(); // nothing buffered: nothing to drain
        Assert.False(queue.DrainedSinceMark);
        Write(queue, Opcode.Binary, new byte[1_000], long.MaxValue);
        queue.MarkBacklog();
        Assert.False(queue.DrainedSinceMark); // no progress yet
        Assert.True(queue.TryBeginSend());
        Assert.False(queue.OnSent(300));
        Assert.True(queue.DrainedSinceMark);
        queue.MarkBacklog(); // marked again: progress counts from here
        Assert.False(queue.DrainedSinceMark);
        Assert.False(queue.OnSent(300));
        Assert.True(queue.DrainedSinceMark);
        Assert.True(queue.OnSent(1_004 - 600)); // the rest of the frame (4 B of header)
        Assert.False(queue.TryContinueSend());
        Assert.False(queue.HoldsLists);
        Assert.False(queue.DrainedSinceMark); // nothing buffered

        // The mark went back with the lists: a later backlog is not measured against it.
        Write(queue, Opcode.Binary, new byte[1_000], long.MaxValue);
        Assert.True(queue.TryBeginSend());
        Assert.False(queue.OnSent(300));
        Assert.False(queue.DrainedSinceMark);
    }

    [Fact]
    public void The_send_lists_are_held_only_while_bytes_are_queued_and_go_back_to_the_pool()
    {
        var pool = new BlockPool(BlockSize, 16);
        var buffers = new ConnectionBuffers(pool, SendLists.CreatePool(4), long.MaxValue);
        var queue = new SendQueue(buffers);
        Assert.False(queue.HoldsLists); // idle from the start
        for (int round = 0; round < 3; round++)
        {
            // Enough frames that the pending list grows past its initial length; a send cut short keeps them in flight.
            for (int i = 0; i < 10; i++)
            {
                Write(queue, Opcode.Binary, new byte[BlockSize / 2], long.MaxValue);
            }
            Assert.True(queue.HoldsLists);
            Assert.True(queue.TryBeginSend());
            Assert.False(queue.OnSent(100));
            Write(queue, Opcode.Text, "more"u8, long.MaxValue); // queued behind the batch in flight
            Assert.True(queue.HoldsLists);
            do
            {
                int inFlight = 0;
                foreach (SendSegment segment in queue.GetInFlight())
                {
                    inFlight += segment.Count;
                }
                Assert.True(queue.OnSent(inFlight));
            }
            while (queue.TryContinueSend()); // the rest of the batch, then the frame queued behind it
            Assert.False(queue.HoldsLists); // everything sent: the lists went back
            Assert.Equal(0, queue.BufferedBytes);
        }
        SendLists lists = buffers.Lists.Get();
        Assert.Equal(0, lists.PendingCount + lists.InFlightCount + lists.InFlightIndex); // returned reset, ready for another queue
        Assert.All(lists.Pending, segment => Assert.Null(segment.Array));
        Assert.All(lists.InFlight, segment => Assert.Null(segment.Array));
        queue.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Nothing_follows_the_final_frame()
    {
        var pool = new BlockPool(BlockSize, 16);
        var transport = new FakeTransport(pool);
        SendQueue queue = transport.Output;
        Assert.Equal(EnqueueResult.Queued, Write(queue, Opcode.Text, "a"u8, long.MaxValue));
        Assert.Equal(1, transport.Flushes); // an idle queue asks its transport to flush
        Assert.Equal(EnqueueResult.Queued, Write(queue, Opcode.Close, [0x03, 0xE8], long.MaxValue, final: true));
        Assert.True(queue.IsCompleted);
        Assert.Equal(EnqueueResult.Completed, Write(queue, Opcode.Text, "b"u8, long.MaxValue));
        Assert.Equal([Opcode.Text, Opcode.Close], ParseFrames(Drain(queue, 3)).Select(f => f.Opcode));
        Assert.Equal(0, pool.Outstanding);
    }

    /// <summary>
    /// The queue's lock is its own spin lock: writers on several threads (a broadcast from other loops, the application)
    /// and the transport's sender all at once must lose, tear or reorder nothing.
    /// </summary>
    [Fact]
    public void Writers_on_several_threads_and_a_sender_at_once_lose_and_reorder_nothing()
    {
        const int Writers = 3;
        const int PerWriter = 20_000;
        var pool = new BlockPool(BlockSize, 16);
        var queue = new SendQueue(pool);
        int running = Writers;
        int refused = 0;
        var threads = Enumerable.Range(0, Writers).Select(writer => new Thread(() =>
        {
            Span<byte> payload = stackalloc byte[8];
            for (int i = 0; i < PerWriter; i++)
            {
                BitConverter.TryWriteBytes(payload, writer);
                BitConverter.TryWriteBytes(payload.Slice(4), i);
                if (Write(queue, Opcode.Binary, payload, long.MaxValue) != EnqueueResult.Queued)
                {
                    Interlocked.Increment(ref refused);
                }
            }
            Interlocked.Decrement(ref running);
        })).ToList();
        threads.ForEach(t => t.Start());
        var sent = new List<byte>();
        while (Volatile.Read(ref running) > 0)
        {
            sent.AddRange(Drain(queue, 700)); // sends cut through frames, while the writers append
        }
        threads.ForEach(t => t.Join());
        sent.AddRange(Drain(queue, 700));

        Assert.Equal(0, refused);
        int[] next = new int[Writers];
        foreach ((Opcode _, byte[] payload) in ParseFrames([.. sent]))
        {
            int writer = BitConverter.ToInt32(payload, 0);
            Assert.Equal(next[writer]++, BitConverter.ToInt32(payload, 4));
        }
        Assert.All(next, count => Assert.Equal(PerWriter, count));
        Assert.Equal(0, queue.BufferedBytes);
        queue.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    /// <summary>
    /// A drain waiter rides in the send lists (an idle queue holds no field for it): it completes when sends bring the
    /// queue to its threshold, or when everything is sent and the lists go back, and fails when the connection ends.
    /// </summary>
    [Fact]
    public async Task A_drain_waiter_completes_at_its_threshold_and_fails_when_the_connection_ends()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new SendQueue(pool);
        Assert.True(queue.WhenBufferedBelowAsync(0, default).IsCompletedSuccessfully); // nothing queued
        Assert.IsType<ArgumentOutOfRangeException>(Record.Exception(() => { _ = queue.WhenBufferedBelowAsync(-1, default); })); // at the call

        for (int i = 0; i < 4; i++)
        {
            Write(queue, Opcode.Binary, new byte[1000], long.MaxValue); // 4 × 1,004 bytes
        }
        Task half = queue.WhenBufferedBelowAsync(2008, default);
        Assert.False(half.IsCompleted);
        Assert.IsType<InvalidOperationException>(Record.Exception(() => { _ = queue.WhenBufferedBelowAsync(0, default); })); // one at a time
        Assert.True(queue.TryBeginSend());
        Assert.False(queue.OnSent(2007));
        Assert.False(half.IsCompleted); // 2,009 bytes left
        Assert.False(queue.OnSent(1));
        await half.WaitAsync(TimeSpan.FromSeconds(30)); // at the threshold (completes on the thread pool: only a hang fails)

        Task all = queue.WhenBufferedBelowAsync(0, default);
        Assert.False(all.IsCompleted);
        Assert.True(queue.OnSent(2008));
        Assert.False(queue.TryContinueSend()); // everything sent: the lists go back
        await all.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(queue.HoldsLists);

        Write(queue, Opcode.Binary, new byte[10], long.MaxValue);
        Task ended = queue.WhenBufferedBelowAsync(0, default);
        queue.Dispose();
        await Assert.ThrowsAsync<InvalidOperationException>(() => ended.WaitAsync(TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => queue.WhenBufferedBelowAsync(0, default));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void One_flush_is_asked_per_idle_period_however_many_writes_follow_it()
    {
        var pool = new BlockPool(BlockSize, 16);
        var transport = new FakeTransport(pool);
        SendQueue queue = transport.Output;
        for (int i = 0; i < 5; i++)
        {
            Write(queue, Opcode.Binary, new byte[10], long.MaxValue); // a broadcast burst before the loop flushes
        }
        Assert.Equal(1, transport.Flushes);
        Assert.Equal(5, ParseFrames(Drain(queue, 4096)).Count);
        Write(queue, Opcode.Binary, new byte[10], long.MaxValue); // idle again: the next write asks again
        Assert.Equal(2, transport.Flushes);
        queue.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void The_limit_refuses_other_threads_but_always_takes_one_frame_into_an_empty_queue()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new SendQueue(pool);
        Assert.Equal(EnqueueResult.Queued, Write(queue, Opcode.Binary, new byte[5000], 100));
        Assert.Equal(EnqueueResult.OverLimit, Write(queue, Opcode.Binary, new byte[10], 100));
        Drain(queue, 4096);
        Assert.Equal(EnqueueResult.Queued, Write(queue, Opcode.Binary, new byte[10], 100));
        queue.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void While_corked_replies_from_the_receiving_thread_are_never_refused_and_no_flush_is_requested()
    {
        var pool = new BlockPool(BlockSize, 16);
        var transport = new FakeTransport(pool);
        SendQueue queue = transport.Output;
        queue.Cork();
        Assert.Equal(EnqueueResult.Queued, Write(queue, Opcode.Binary, new byte[500], 100));
        Assert.Equal(EnqueueResult.Queued, Write(queue, Opcode.Binary, new byte[500], 100));
        Assert.Equal(0, transport.Flushes); // the transport flushes once after the batch
        Assert.True(queue.Uncork());
        Assert.Equal(2, ParseFrames(Drain(queue, 100)).Count);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_shared_buffer_is_referenced_not_copied_and_released_once_sent()
    {
        var pool = new BlockPool(BlockSize, 16);
        SharedBuffer shared = new SharedBufferPool(pool, ArrayPool<byte>.Shared, 4).Rent(10);
        "0123456789"u8.CopyTo(shared.Span);
        var first = new SendQueue(pool);
        var second = new SendQueue(pool);
        Assert.Equal(EnqueueResult.Queued, first.TryWrite(shared, long.MaxValue));
        Assert.Equal(EnqueueResult.Queued, second.TryWrite(shared, long.MaxValue));
        shared.Release(); // the creator's reference
        Assert.Equal(1, pool.Outstanding);
        Assert.Equal("0123456789"u8.ToArray(), Drain(first, 3));
        Assert.Equal(1, pool.Outstanding); // still queued on the second
        second.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Dispose_returns_every_block_sent_or_not()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new SendQueue(pool);
        Write(queue, Opcode.Binary, new byte[10_000], long.MaxValue);
        Assert.True(queue.TryBeginSend());
        queue.OnSent(100); // part of the in-flight batch sent
        Write(queue, Opcode.Binary, new byte[3000], long.MaxValue); // and more pending
        Assert.True(pool.Outstanding > 0);
        queue.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }
    [Fact]
    public async Task Ten_thousand_queues_sending_at_once_find_their_lists_in_the_servers_pool_on_every_publish()
    {
        // A broadcast to 10,000 subscribers has as many queues holding send lists at once. The server's pool must keep
        // them all, or every publish makes the surplus again: 42 B allocated per delivery at 10,000 subscribers when it
        // kept 4,096 (bench/results/sockets-idle-callback).
        await using var server = new WebSocketServer(new WebSocketServerOptions { Listen = false }, new IdleHandler());
        SendQueue[] queues = Enumerable.Range(0, 10_000).Select(_ => new SendQueue(server.Buffers)).ToArray();
        int failures = Publish(server, queues) + Publish(server, queues); // the first makes the lists, the pool keeps them
        long before = GC.GetAllocatedBytesForCurrentThread();
        failures += Publish(server, queues);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, failures);
        Assert.True(allocated == 0, $"{allocated} B allocated by a publish to {queues.Length} queues");
        Assert.All(queues, queue => Assert.False(queue.HoldsLists)); // all given back

        // One shared frame queued to every queue, then each queue's send completes whole, as a broadcast's flushes do.
        static int Publish(WebSocketServer server, SendQueue[] queues)
        {
            int failures = 0;
            SharedBuffer frame = server.SharedBuffers.Rent(34);
            foreach (SendQueue queue in queues)
            {
                failures += queue.TryWrite(frame, long.MaxValue) == EnqueueResult.Queued ? 0 : 1;
            }
            frame.Release();
            foreach (SendQueue queue in queues)
            {
                failures += queue.TryBeginSend() && queue.OnSent(34) && !queue.TryContinueSend() ? 0 : 1;
            }
            return failures;
        }
    }

    private sealed class IdleHandler : IWebSocketHandler
    {
        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
