using System.Net.Sockets;
using System.Text;

namespace CrossNode.Client;

/// <summary>Where a subscriber reports what it receives: the trackers of the phase running now (null between phases).</summary>
internal sealed class PhaseTrackers
{
    public DeliveryTracker? Latency { get; set; }
    public DeliveryTracker? Throughput { get; set; }
}

/// <summary>
/// One connection speaking the Host's application protocol on the generator's event loop: subscribes, publishes JSON
/// <c>message</c>s (text frames, masked), and hands every received <c>message</c> to the phase's tracker. The publisher
/// is the same class with an <see cref="IPublishPlan"/>. Only the loop thread touches it while the loop runs.
/// </summary>
internal sealed class AppConnection(Socket socket, PhaseTrackers trackers) : LoopConnection(socket, 16 * 1024), IFrameSink
{
    private FrameParser parser;
    private uint maskState = (uint)Random.Shared.Next() | 1;
    private long now;

    public IPublishPlan? Plan { get; set; }

    /// <summary><c>subscribed</c> replies received.</summary>
    public int Subscribed { get; private set; }

    /// <summary>Replies to <c>subscribe</c> that carried a stream position (history mode).</summary>
    public int SubscribedWithPosition { get; private set; }

    /// <summary>Bit c set: a probe sent to channel c arrived.</summary>
    public int ProbesSeen { get; private set; }

    /// <summary>The first <c>error</c> the server sent, if any.</summary>
    public string? ServerError { get; private set; }

    public int PendingBytes => PendingOut;

    /// <summary>Feeds bytes that arrived with the handshake response (the server's <c>connected</c>, usually).</summary>
    public void Accept(ReadOnlySpan<byte> leftover)
    {
        if (!leftover.IsEmpty)
        {
            OnData(leftover, 0);
        }
    }

    public void SendText(ReadOnlySpan<byte> payload)
    {
        // xorshift32: a fresh masking key per frame, as RFC 6455 §5.3 asks.
        var x = maskState;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        maskState = x;
        var span = Reserve(ClientFrameWriter.FrameSize(payload.Length));
        Commit(ClientFrameWriter.Write(span, ClientFrameWriter.OpText, payload, x));
    }

    /// <summary>Queues one publish (flushed by the caller, so a turn's messages leave in one send).</summary>
    public void Publish(ReadOnlySpan<byte> prefix, byte kind, long sequence, long timestamp)
    {
        Span<byte> payload = stackalloc byte[AppMessages.PublishLength(prefix)];
        SendText(payload[..AppMessages.WritePublish(payload, prefix, kind, sequence, timestamp)]);
    }

    public override long OnTick(long timestamp) => Plan?.Tick(this, timestamp) ?? long.MaxValue;

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
        switch (AppMessages.Classify(head))
        {
            case AppMessageType.Message when AppMessages.TryReadContent(head, out var kind, out var seq, out var stamp):
                var tracker = kind switch
                {
                    AppMessages.LatencyKind => trackers.Latency,
                    AppMessages.ThroughputKind => trackers.Throughput,
                    _ => null,
                };
                if (tracker is not null)
                {
                    tracker.OnDelivery(seq, stamp, now);
                }
                else if (kind == AppMessages.ProbeKind && seq is >= 0 and < 31)
                {
                    ProbesSeen |= 1 << (int)seq;
                }
                break;
            case AppMessageType.Subscribed:
                Subscribed++;
                if (AppMessages.HasPosition(head))
                {
                    SubscribedWithPosition++;
                }
                break;
            case AppMessageType.Error:
                ServerError ??= Encoding.UTF8.GetString(head);
                break;
        }
    }

    public void OnClose() => Fail("server sent Close");
}
