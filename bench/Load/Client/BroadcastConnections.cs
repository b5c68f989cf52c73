using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using HdrHistogram;

namespace Load.Client;

/// <summary>
/// Bookkeeping of the broadcast scenario, owned by the single loop thread: which published messages every subscriber
/// has received. The publisher keeps <see cref="Window"/> messages unfinished at most, so the server is never asked to
/// queue without bound; a message some subscribers never get is given up on after two seconds and counted as missed.
/// </summary>
internal sealed class BroadcastTracker(int subscribers, int window, LongHistogram latency, long recordFrom, long recordUntil)
{
    private const int Ring = 1024;
    private readonly int[] counts = new int[Ring];
    private readonly long[] sentAt = new long[Ring];
    private readonly long stallTicks = 2 * Stopwatch.Frequency;
    private long deliveries;

    public int Subscribers { get; } = subscribers;
    public int Window { get; } = window;
    public long Published { get; private set; }
    public long Completed { get; private set; }
    public long Missed { get; private set; }
    public long Deliveries => Volatile.Read(ref deliveries);

    public bool CanPublish => Published - Completed < Window;

    public long NextSequence(long timestamp)
    {
        var seq = Published++;
        counts[seq % Ring] = 0;
        sentAt[seq % Ring] = timestamp;
        return seq;
    }

    public void OnDelivery(long seq, long sentTimestamp, long now)
    {
        if (seq < Completed || seq >= Published)
        {
            return;
        }
        Volatile.Write(ref deliveries, deliveries + 1);
        if (sentTimestamp >= recordFrom && sentTimestamp < recordUntil)
        {
            latency.RecordValue(Math.Max(0, now - sentTimestamp));
        }
        counts[seq % Ring]++;
        Advance(now);
    }

    public void Advance(long now)
    {
        while (Completed < Published)
        {
            var slot = Completed % Ring;
            if (counts[slot] >= Subscribers)
            {
                Completed++;
            }
            else if (now - sentAt[slot] > stallTicks)
            {
                Missed += Subscribers - counts[slot];
                Completed++;
            }
            else
            {
                break;
            }
        }
    }
}

/// <summary>The one publishing connection: sends 32-byte messages carrying a sequence number and the send timestamp.</summary>
internal sealed class PublisherConnection(Socket socket, BroadcastTracker tracker) : LoopConnection(socket, 64 * 1024), IFrameSink
{
    private const int PayloadLength = 32;
    private FrameParser parser;
    private uint maskState = 0x9E3779B9;

    public override long OnTick(long now)
    {
        tracker.Advance(now);
        var sent = false;
        Span<byte> payload = stackalloc byte[PayloadLength];
        while (tracker.CanPublish)
        {
            var seq = tracker.NextSequence(now);
            BinaryPrimitives.WriteInt64LittleEndian(payload, seq);
            BinaryPrimitives.WriteInt64LittleEndian(payload[8..], now);
            var x = maskState;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            maskState = x;
            var span = Reserve(ClientFrameWriter.FrameSize(PayloadLength));
            Commit(ClientFrameWriter.Write(span, ClientFrameWriter.OpBinary, payload, x));
            sent = true;
        }
        if (sent)
        {
            Flush();
        }
        // Nothing to do until a delivery completes a message, which happens inside the loop; look again soon.
        return now + Stopwatch.Frequency / 1000;
    }

    public override void OnData(ReadOnlySpan<byte> data, long now) => parser.Consume(data, this);

    public void OnMessage(ReadOnlySpan<byte> head, long payloadLength)
    {
        // A broadcast server does not send a publisher its own messages; anything here is ignored.
    }

    public void OnClose() => Fail("server sent Close");
}

/// <summary>A subscribing connection: reports every message's sequence number and send timestamp to the tracker.</summary>
internal sealed class SubscriberConnection(Socket socket, BroadcastTracker tracker) : LoopConnection(socket, 64), IFrameSink
{
    private FrameParser parser;
    private long now;

    public override void OnData(ReadOnlySpan<byte> data, long timestamp)
    {
        now = timestamp;
        if (!parser.Consume(data, this))
        {
            Fail("malformed frame from server");
        }
    }

    public void OnMessage(ReadOnlySpan<byte> head, long payloadLength)
    {
        if (head.Length >= 16)
        {
            tracker.OnDelivery(BinaryPrimitives.ReadInt64LittleEndian(head), BinaryPrimitives.ReadInt64LittleEndian(head[8..]), now);
        }
    }

    public void OnClose() => Fail("server sent Close");
}
