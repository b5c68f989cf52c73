using System.Net.Sockets;
using HdrHistogram;

namespace Load.Client;

/// <summary>
/// Drives one connection of the echo scenarios. Closed loop: keeps <c>window</c> messages in flight, sending a
/// replacement for each echo (1 = ping-pong, 16 = pipelined). Open loop (<c>intervalTicks</c> &gt; 0): sends on a fixed
/// schedule whatever the replies do, and measures each reply from the time it was meant to be sent, so a stalled
/// server is charged for the whole queue behind the stall (coordinated omission corrected).
/// </summary>
internal sealed class EchoConnection : LoopConnection, IFrameSink
{
    private readonly byte[] payload;
    private readonly int window;
    private readonly long intervalTicks;
    private readonly long[] intended;
    private readonly LongHistogram? latency;
    private readonly long recordFrom;
    private readonly long recordUntil;
    private FrameParser parser;
    private long nextDue;
    private long sentCount;
    private long receivedCount;
    private uint maskState;
    private long now;

    public EchoConnection(Socket socket, byte[] payload, int window, long intervalTicks, long firstDue, LongHistogram? latency, long recordFrom, long recordUntil, int seed)
        : base(socket, Math.Max(window, 4) * ClientFrameWriter.FrameSize(payload.Length))
    {
        this.payload = payload;
        this.window = window;
        this.intervalTicks = intervalTicks;
        // Open loop: enough slots for 4096 queued sends before the schedule is held back.
        intended = new long[intervalTicks > 0 ? 4096 : window];
        nextDue = firstDue;
        this.latency = latency;
        this.recordFrom = recordFrom;
        this.recordUntil = recordUntil;
        maskState = (uint)seed | 1;
    }

    /// <summary>Messages echoed back so far; read by other threads as a progress counter.</summary>
    public long Received => Volatile.Read(ref receivedCount);

    /// <summary>Open-loop sends that had to wait because 4096 were already in flight.</summary>
    public long HeldBack { get; private set; }

    public int PayloadLength => payload.Length;

    /// <summary>Closed loop: fills the window. Call on the loop thread before it runs.</summary>
    public void Start(long timestamp)
    {
        if (intervalTicks == 0)
        {
            while (sentCount - receivedCount < window)
            {
                Send(timestamp);
            }
            Flush();
        }
    }

    public override long OnTick(long timestamp)
    {
        if (intervalTicks == 0)
        {
            return long.MaxValue;
        }
        var sentAny = false;
        while (nextDue <= timestamp)
        {
            if (sentCount - receivedCount >= intended.Length)
            {
                HeldBack++;
                break;
            }
            Send(nextDue);
            nextDue += intervalTicks;
            sentAny = true;
        }
        if (sentAny)
        {
            Flush();
        }
        return nextDue;
    }

    private void Send(long intendedTime)
    {
        intended[sentCount % intended.Length] = intendedTime;
        sentCount++;
        // xorshift32: a fresh key per frame, as RFC 6455 §5.3 asks, at the cost of three instructions.
        var x = maskState;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        maskState = x;
        var span = Reserve(ClientFrameWriter.FrameSize(payload.Length));
        Commit(ClientFrameWriter.Write(span, ClientFrameWriter.OpBinary, payload, x));
    }

    public override void OnData(ReadOnlySpan<byte> data, long timestamp)
    {
        now = timestamp;
        if (!parser.Consume(data, this))
        {
            Fail("malformed frame from server");
            return;
        }
        if (intervalTicks == 0)
        {
            while (sentCount - receivedCount < window)
            {
                Send(timestamp);
            }
        }
    }

    public void OnMessage(ReadOnlySpan<byte> head, long payloadLength)
    {
        var sentAt = intended[receivedCount % intended.Length];
        Volatile.Write(ref receivedCount, receivedCount + 1);
        if (latency is not null && sentAt >= recordFrom && sentAt < recordUntil)
        {
            latency.RecordValue(Math.Max(0, now - sentAt));
        }
    }

    public void OnClose() => Fail("server sent Close");
}
