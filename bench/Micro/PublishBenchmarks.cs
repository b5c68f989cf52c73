using BenchmarkDotNet.Attributes;
using Engine.Buffers;
using Engine.Protocol;
using Engine.Session;
using Engine.Transports;

namespace Engine.Benchmarks.Micro;

/// <summary>
/// The fan-out step of a publish, no sockets: a message framed once (<see cref="SharedFrames.Frame"/>, from the pooled
/// frame holders), queued by reference to each subscriber's <see cref="SendQueue"/>, and drained as a transport would,
/// which releases the frame back to its pool. Budget 0 B: neither the frame's bytes nor its holder are allocated.
/// </summary>
[MemoryDiagnoser]
public class PublishBenchmarks
{
    private byte[] _payload = [];
    private SharedBufferPool _frames = null!;
    private SendQueue[] _subscribers = [];

    [Params(4)]
    public int Subscribers { get; set; }

    [Params(64)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[Size];
        var blocks = new BlockPool(16 * 1024, 64);
        _frames = new SharedBufferPool(blocks, System.Buffers.ArrayPool<byte>.Shared, 64);
        _subscribers = new SendQueue[Subscribers];
        for (int i = 0; i < _subscribers.Length; i++)
        {
            _subscribers[i] = new SendQueue(blocks);
        }
        if (FanOut() != Subscribers * (FrameWriter.HeaderLength(Size, masked: false) + Size))
        {
            throw new InvalidOperationException("not every subscriber got the frame");
        }
    }

    [Benchmark]
    public int FanOut()
    {
        SharedBuffer frame = SharedFrames.Frame(Opcode.Text, _payload, _frames);
        foreach (SendQueue subscriber in _subscribers)
        {
            subscriber.TryWrite(frame, long.MaxValue);
        }
        frame.Release(); // the publisher's reference; the queues hold theirs until sent
        int sent = 0;
        foreach (SendQueue subscriber in _subscribers)
        {
            sent += QueueDrain.Drain(subscriber);
        }
        return sent;
    }
}
