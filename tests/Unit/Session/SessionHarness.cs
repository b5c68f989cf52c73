using System.Buffers;
using System.Text;
using Engine.Protocol;
using Engine.Buffers;
using Engine.Runtime;
using Engine.Session;
using Engine.Timers;
using Engine.Transports;

namespace Engine.Tests.Unit.Session;

/// <summary>What the session told its host, in order.</summary>
internal sealed class FakeHost : ISessionHost
{
    private readonly SessionHarness _harness;

    public FakeHost(SessionHarness harness)
    {
        _harness = harness;
    }

    /// <summary>Echo every whole message back (as an application would), so the output shows delivery order.</summary>
    public bool Echo { get; set; } = true;

    public UpgradeDecision Decision { get; set; } = UpgradeDecision.Accept();

    public HttpResponse? PlainResponse { get; set; }

    public int Upgrades { get; private set; }

    public int HttpRequests { get; private set; }

    public int Opens { get; private set; }

    /// <summary>Flushes the session's writes asked of the transport (writes outside a receive batch).</summary>
    public int Flushes => _harness.Transport.Flushes;

    public List<(MessageType Type, byte[] Payload, bool End)> Messages { get; } = [];

    public List<(CloseCode Code, string Reason)> Closes { get; } = [];

    public List<string> Timeouts { get; } = [];

    public UpgradeDecision OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head)
    {
        Upgrades++;
        return Decision;
    }

    public HttpResponse? OnHttpRequest(ReadOnlySpan<byte> buffer, in HttpRequestHead head)
    {
        HttpRequests++;
        return PlainResponse;
    }

    public void OnOpen() => Opens++;

    public void OnMessage(ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage)
    {
        Messages.Add((type, payload.ToArray(), endOfMessage));
        if (Echo && endOfMessage)
        {
            _harness.Session.Send(payload, type, long.MaxValue);
        }
    }

    public void OnClosed(CloseCode code, ReadOnlySpan<byte> reason) => Closes.Add((code, Encoding.UTF8.GetString(reason)));

    public void OnTimeout(SessionTimeout timeout) => Timeouts.Add(timeout.Describe());

    public int Ends { get; private set; }

    public void OnEnded(Exception? error) => Ends++;
}

/// <summary>A transport that moves nothing: it owns the send queue the session writes to and counts the flushes asked of it.</summary>
internal sealed class FakeTransport(BlockPool pool) : TransportConnection(new ConnectionBuffers(pool, SendLists.CreatePool(16), long.MaxValue))
{
    public int Flushes { get; private set; }

    public override System.Net.EndPoint? RemoteEndPoint => null;

    public override void RequestFlush() => Flushes++;

    public override void Abort()
    {
    }

    protected override void ShutdownSend()
    {
    }

    protected override bool MarkHalfClosed() => !HalfClosed && (HalfClosed = true);

    private bool HalfClosed { get; set; }
}

internal readonly record struct ServerFrame(bool Fin, byte Rsv, Opcode Opcode, byte[] Payload)
{
    public int CloseCode => Payload.Length >= 2 ? (Payload[0] << 8) | Payload[1] : 1005;

    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// A session with a fake clock, an in-memory outbound queue and a fake host. <see cref="Feed"/> plays the transport:
/// it keeps the bytes the session did not consume and passes them again with the next read.
/// </summary>
internal sealed class SessionHarness
{
    public const string Request = Protocol.HandshakeTests.GoodRequest;

    public static readonly SessionSettings DefaultSettings = new(
        MaxMessageSize: 1 << 20,
        MaxRequestHeadSize: 8192,
        Streamed: false,
        HandshakeTimeoutMs: 5_000,
        HeartbeatIntervalMs: 0,
        HeartbeatTimeoutMs: 10_000,
        CloseTimeoutMs: 2_000,
        IdleTimeoutMs: 0);

    private byte[] _pending = [];
    private readonly List<byte> _sent = [];

    public SessionHarness(SessionSettings? settings = null, long startMs = 0)
    {
        Now = startMs;
        Pool = new BlockPool(4096, 64);
        Transport = new FakeTransport(Pool);
        Output = Transport.Output;
        Wheel = new TimerWheel(100, 64, Now);
        Host = new FakeHost(this);
        Session = new WebSocketSession(Output);
        Session.Start(Host, (settings ?? DefaultSettings) with { Wheel = Wheel }, Now);
    }

    public long Now { get; private set; }

    public BlockPool Pool { get; }

    public FakeTransport Transport { get; }

    public SendQueue Output { get; }

    public TimerWheel Wheel { get; }

    public FakeHost Host { get; }

    public WebSocketSession Session { get; }

    public SessionState State => Session.State;

    /// <summary>One read from the socket.</summary>
    public void Feed(ReadOnlySpan<byte> read)
    {
        if (Session.State == SessionState.Closed)
        {
            return; // the transport stops reading
        }
        byte[] buffer = [.. _pending, .. read];
        int consumed = Session.Receive(buffer, Now);
        Assert.InRange(consumed, 0, buffer.Length);
        _pending = Session.State == SessionState.Closed ? [] : buffer[consumed..];
    }

    public void FeedAll(IEnumerable<byte[]> reads)
    {
        foreach (byte[] read in reads)
        {
            Feed(read);
        }
    }

    /// <summary>Moves the fake clock and runs the timer wheel, 10 ms at a time.</summary>
    public void AdvanceTo(long nowMs)
    {
        while (Now < nowMs)
        {
            Now = Math.Min(Now + 10, nowMs);
            Wheel.Advance(Now);
        }
    }

    /// <summary>Everything the session has queued so far, as the transport would send it.</summary>
    public byte[] Sent()
    {
        while (Output.TryBeginSend())
        {
            do
            {
                int total = 0;
                foreach (SendSegment segment in Output.GetInFlight())
                {
                    _sent.AddRange(segment.Array.AsSpan(segment.Offset, segment.Count));
                    total += segment.Count;
                }
                Assert.True(Output.OnSent(total));
            }
            while (Output.TryContinueSend());
        }
        return [.. _sent];
    }

    /// <summary>The HTTP response head (empty when none) and the server frames after it.</summary>
    public (string Response, List<ServerFrame> Frames) Parse()
    {
        byte[] sent = Sent();
        string response = "";
        int position = 0;
        if (sent.AsSpan().StartsWith("HTTP/"u8))
        {
            int end = sent.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.True(end >= 0, "incomplete HTTP response");
            position = end + 4;
            response = Encoding.ASCII.GetString(sent, 0, position);
        }
        var frames = new List<ServerFrame>();
        while (position < sent.Length)
        {
            Assert.Equal(OperationStatus.Done, FrameReader.TryReadHeader(sent.AsSpan(position), out FrameHeader header, out int consumed));
            Assert.False(header.Masked); // RFC 6455 §5.1: a server never masks
            position += consumed;
            frames.Add(new ServerFrame(header.Fin, header.Rsv, header.Opcode, sent.AsSpan(position, (int)header.PayloadLength).ToArray()));
            position += (int)header.PayloadLength;
        }
        return (response, frames);
    }

    public List<ServerFrame> Frames() => Parse().Frames;

    /// <summary>Plays the transport's end: the session hears the connection is gone, then the transport disposes its queue.</summary>
    public void End()
    {
        ((ITransportHandler)Session).OnTransportClosed(null);
        Output.Dispose();
    }

    /// <summary>Sends the opening handshake in one read and checks the upgrade.</summary>
    public SessionHarness Open()
    {
        Feed(Encoding.ASCII.GetBytes(Request));
        Assert.Equal(SessionState.Open, State);
        return this;
    }
}
