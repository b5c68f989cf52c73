using System.Buffers;
using Engine.Protocol;
using Engine.Runtime;
using Engine.Transports;

namespace Engine.Tests.Unit.Transport;

public class OutboundQueueTests
{
    private const int BlockSize = 1024;

    /// <summary>Plays a transport whose sends accept at most <paramref name="sendSize"/> bytes each.</summary>
    private static byte[] Drain(OutboundQueue queue, int sendSize)
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
                    foreach (OutboundSegment segment in queue.GetInFlight())
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
        var queue = new OutboundQueue(pool);
        int[] sizes = [0, 1, 125, 126, 1000, BlockSize - 4, BlockSize - 3, BlockSize, BlockSize + 1, 3 * BlockSize + 17, 65535, 65536, 70_000, 5];
        var expected = new List<byte[]>();
        var random = new Random(sendSize);
        foreach (int size in sizes)
        {
            byte[] payload = new byte[size];
            random.NextBytes(payload);
            expected.Add(payload);
            Assert.Equal(EnqueueResult.Queued, queue.TryEnqueueFrame(Opcode.Binary, payload, long.MaxValue, final: false, out _));
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
    public void Nothing_follows_the_final_frame()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new OutboundQueue(pool);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueueFrame(Opcode.Text, "a"u8, long.MaxValue, final: false, out bool flush));
        Assert.True(flush);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueueFrame(Opcode.Close, [0x03, 0xE8], long.MaxValue, final: true, out _));
        Assert.True(queue.IsCompleted);
        Assert.Equal(EnqueueResult.Completed, queue.TryEnqueueFrame(Opcode.Text, "b"u8, long.MaxValue, final: false, out _));
        Assert.Equal([Opcode.Text, Opcode.Close], ParseFrames(Drain(queue, 3)).Select(f => f.Opcode));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void The_limit_refuses_other_threads_but_always_takes_one_frame_into_an_empty_queue()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new OutboundQueue(pool);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueueFrame(Opcode.Binary, new byte[5000], limit: 100, final: false, out _));
        Assert.Equal(EnqueueResult.OverLimit, queue.TryEnqueueFrame(Opcode.Binary, new byte[10], limit: 100, final: false, out _));
        Drain(queue, 4096);
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueueFrame(Opcode.Binary, new byte[10], limit: 100, final: false, out _));
        queue.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void While_corked_replies_from_the_receiving_thread_are_never_refused_and_no_flush_is_requested()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new OutboundQueue(pool);
        queue.Cork();
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueueFrame(Opcode.Binary, new byte[500], limit: 100, final: false, out bool first));
        Assert.Equal(EnqueueResult.Queued, queue.TryEnqueueFrame(Opcode.Binary, new byte[500], limit: 100, final: false, out bool second));
        Assert.False(first);
        Assert.False(second);
        Assert.True(queue.Uncork());
        Assert.Equal(2, ParseFrames(Drain(queue, 100)).Count);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Dispose_returns_every_block_sent_or_not()
    {
        var pool = new BlockPool(BlockSize, 16);
        var queue = new OutboundQueue(pool);
        queue.TryEnqueueFrame(Opcode.Binary, new byte[10_000], long.MaxValue, final: false, out _);
        Assert.True(queue.TryBeginSend());
        queue.OnSent(100); // part of the in-flight batch sent
        queue.TryEnqueueFrame(Opcode.Binary, new byte[3000], long.MaxValue, final: false, out _); // and more pending
        Assert.True(pool.Outstanding > 0);
        queue.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }
}
