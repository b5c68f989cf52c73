using System.Text;
using Engine.Compression;
using Engine.Protocol;
using Engine.Buffers;
using Engine.Runtime;
using Engine.Session;
using Engine.Timers;
using Engine.Transports;

namespace Engine.Fuzz;

/// <summary>How one run of the session target is set up (the first bytes of a fuzz input choose it).</summary>
[Flags]
internal enum SessionOptions : byte
{
    None = 0,
    /// <summary><see cref="MessageDelivery.Streamed"/>: pieces as they arrive, no reassembly.</summary>
    Streamed = 1,
    /// <summary>Small message size and fragment limits, so 1009 paths are reachable with short inputs.</summary>
    SmallLimits = 2,
    /// <summary>The input is the whole byte stream, handshake included (otherwise a valid handshake is put in front).</summary>
    Raw = 4,
    /// <summary>Heartbeat and idle timeout on; the fake clock moves between reads.</summary>
    Clock = 8,
    /// <summary>The application closes (1001) after some read.</summary>
    AppClose = 16,
    /// <summary>The application does not echo messages.</summary>
    NoEcho = 32,
    /// <summary>No effect since sessions are one per connection (they were pooled): the bit stays so older corpus inputs keep their meaning otherwise.</summary>
    Reused = 64,
    /// <summary>The server offers permessage-deflate and the upgrade asks for it: compressed frames in, compressed echoes out.</summary>
    Deflate = 128,
}

/// <summary>
/// One connection driven like the transports drive it, in memory: reads (cut where the split generator says) go to
/// <see cref="WebSocketSession.Receive"/> corked like a receive batch, the outbound queue is drained after each read,
/// the fake clock runs the timer wheel, and at the end the connection is torn down the way the transport does it
/// (session reset, queue disposed). Records what the application and the peer saw.
/// </summary>
internal sealed class SessionRun : ISessionHost
{
    public const int BlockSize = 4096;

    /// <summary>The send-queue limit echoes are queued under (the value the removed SessionSettings.MaxBufferedBytes held here).</summary>
    private const long MaxBufferedBytes = 1 << 20;

    private readonly SendQueue _output;
    private readonly CompressionPool? _compression;
    private readonly bool _echo;
    private WebSocketSession _session = null!;
    private readonly List<byte> _sent = [];
    private readonly List<byte> _streamed = [];
    private MessageType _streamedType;
    private bool _timedOut;

    private SessionRun(SessionOptions options, int maxRequestHeadSize)
    {
        bool echo = !options.HasFlag(SessionOptions.NoEcho);
        _compression = options.HasFlag(SessionOptions.Deflate) ? new CompressionPool(level: 6, memoryLevel: 8, maxConcurrentCompressions: 2, maxRetained: 2) : null;
        MessageBuffers = new CountingArrayPool();
        Wheel = new TimerWheel(100, 64, 0);
        SessionSettings settings = SettingsFor(options, maxRequestHeadSize, _compression) with { MessageBuffers = MessageBuffers, Wheel = Wheel };
        Settings = settings;
        _echo = echo && !settings.Streamed;
        Pool = new BlockPool(BlockSize, 16);
        _output = new DrainingTransport(Pool, Drain).Output;
    }

    public SessionSettings Settings { get; }

    public BlockPool Pool { get; }

    public TimerWheel Wheel { get; }

    public CountingArrayPool MessageBuffers { get; }

    public long Now { get; private set; }

    public int Opens { get; private set; }

    /// <summary>How often the session reported the connection's end (exactly once after the teardown).</summary>
    public int Ends { get; private set; }

    /// <summary>Whole messages, as the application received them (streamed pieces joined).</summary>
    public List<(MessageType Type, byte[] Payload)> Messages { get; } = [];

    public List<(CloseCode Code, byte[] Reason)> Closes { get; } = [];

    /// <summary>The messages the application echoed and the queue accepted (what the peer must receive, in order).</summary>
    public List<(MessageType Type, byte[] Payload)> Echoed { get; } = [];

    public List<string> Timeouts { get; } = [];

    /// <summary>Every byte the server sent, in order.</summary>
    public byte[] Sent => [.. _sent];

    /// <summary>Bytes in [0, length) of every read handed to the session but not consumed before the run ended.</summary>
    public int Leftover { get; private set; }

    public static SessionSettings SettingsFor(SessionOptions options, int maxRequestHeadSize, CompressionPool? compression) => new(
        MaxMessageSize: options.HasFlag(SessionOptions.SmallLimits) ? 300 : 1 << 20,
        MaxRequestHeadSize: maxRequestHeadSize,
        Streamed: options.HasFlag(SessionOptions.Streamed),
        HandshakeTimeoutMs: 5_000,
        HeartbeatIntervalMs: options.HasFlag(SessionOptions.Clock) ? 1_000 : 0,
        HeartbeatTimeoutMs: 700,
        CloseTimeoutMs: 2_000,
        IdleTimeoutMs: options.HasFlag(SessionOptions.Clock) ? 3_000 : 0,
        MaxFragmentsPerMessage: options.HasFlag(SessionOptions.SmallLimits) ? 4 : int.MaxValue,
        // Threshold 16 so that most echoes go out compressed; the server keeps no context, the client's is taken over.
        Compression: compression is null ? null : new SessionCompression(new DeflateConfig(15, 15, ServerNoContextTakeover: true, ClientNoContextTakeover: false), 16, compression));

    /// <summary>
    /// Runs <paramref name="input"/> through a session. <paramref name="maxPiece"/> 0 delivers it in one read; otherwise
    /// reads are 0..maxPiece bytes long as <paramref name="seed"/> decides.
    /// </summary>
    public static SessionRun Execute(byte[] input, SessionOptions options, int maxPiece, uint seed, int maxRequestHeadSize = 8192)
    {
        var run = new SessionRun(options, maxRequestHeadSize);
        var session = new WebSocketSession(run._output);
        run._session = session;
        session.Start(run, run.Settings, run.Now);
        var random = new SplitRandom(seed);
        int appCloseAfter = options.HasFlag(SessionOptions.AppClose) ? random.Next(8) : -1;
        byte[] pending = [];
        int offset = 0;
        for (int read = 0; offset < input.Length || read == 0; read++)
        {
            if (session.State == SessionState.Closed || run._timedOut)
            {
                break; // the transport stops reading (and the close deadline or the peer ends the connection)
            }
            int length = maxPiece == 0 ? input.Length : Math.Min(random.Next(maxPiece), input.Length - offset);
            byte[] buffer = [.. pending, .. input.AsSpan(offset, length)];
            offset += length;

            run._output.Cork();
            int consumed = session.Receive(buffer, run.Now);
            run._output.Uncork();
            FuzzInvariantException.Check(consumed >= 0 && consumed <= buffer.Length, $"Receive consumed {consumed} of {buffer.Length}");
            pending = session.State == SessionState.Closed ? [] : buffer[consumed..];
            run.Drain();

            if (read == appCloseAfter)
            {
                session.Close(CloseCode.GoingAway, "application close", run.Now);
                run.Drain();
            }
            if (options.HasFlag(SessionOptions.Clock))
            {
                run.AdvanceBy(random.Next(8) * 100, session);
            }
        }
        run.Leftover = pending.Length;

        // The connection ends as the transport ends it: the session hears it, then the transport disposes its queue.
        ((ITransportHandler)session).OnTransportClosed(null);
        run._output.Dispose();
        run._compression?.Dispose();
        run.CheckTeardown();
        return run;
    }

    private void AdvanceBy(int ms, WebSocketSession session)
    {
        long target = Now + ms;
        while (Now < target && !_timedOut)
        {
            Now = Math.Min(Now + 10, target);
            Wheel.Advance(Now);
            Drain();
        }
        _ = session;
    }

    /// <summary>Sends everything queued, the way a transport flush does.</summary>
    private void Drain()
    {
        while (_output.TryBeginSend())
        {
            do
            {
                int total = 0;
                foreach (SendSegment segment in _output.GetInFlight())
                {
                    _sent.AddRange(segment.Array.AsSpan(segment.Offset, segment.Count));
                    total += segment.Count;
                }
                FuzzInvariantException.Check(_output.OnSent(total), "the in-flight list was not done after sending all of it");
            }
            while (_output.TryContinueSend());
        }
    }

    private void CheckTeardown()
    {
        FuzzInvariantException.Check(Ends == 1, $"the end of the connection was reported {Ends} times");
        FuzzInvariantException.Check(Pool.Outstanding == 0, $"{Pool.Outstanding} send blocks outstanding after the connection ended");
        FuzzInvariantException.Check(MessageBuffers.Outstanding == 0, $"{MessageBuffers.Outstanding} message buffers outstanding after the connection ended");
        // The pool frees what it retains on Dispose; anything still alive was never given back.
        FuzzInvariantException.Check(_compression is null || (_compression.LiveInflaters == 0 && _compression.LiveDeflaters == 0 && _compression.ActiveCompressions == 0),
            $"{_compression?.LiveInflaters} inflaters, {_compression?.LiveDeflaters} deflaters not returned");
    }

    UpgradeDecision ISessionHost.OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head) => UpgradeDecision.Accept();

    HttpResponse? ISessionHost.OnHttpRequest(ReadOnlySpan<byte> buffer, in HttpRequestHead head) => null;

    void ISessionHost.OnOpen() => Opens++;

    void ISessionHost.OnMessage(ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage)
    {
        FuzzInvariantException.Check(Closes.Count == 0, "a message delivered after the close was reported");
        FuzzInvariantException.Check(type is MessageType.Text or MessageType.Binary, $"message of type {type}");
        if (_streamed.Count > 0 || !endOfMessage)
        {
            FuzzInvariantException.Check(_streamed.Count == 0 || type == _streamedType, "a message changed type between its pieces");
            FuzzInvariantException.Check(Settings.Streamed, "a partial message in buffered delivery");
        }
        _streamedType = type;
        _streamed.AddRange(payload);
        FuzzInvariantException.Check(_streamed.Count <= Settings.MaxMessageSize, $"a message of {_streamed.Count} bytes over the {Settings.MaxMessageSize} limit");
        if (endOfMessage)
        {
            byte[] message = [.. _streamed];
            _streamed.Clear();
            FuzzInvariantException.Check(type != MessageType.Text || Utf8Strict.IsValid(message), "a text message that is not UTF-8");
            Messages.Add((type, message));
            if (_echo)
            {
                Echo(payload, type);
            }
        }
    }

    /// <summary>Sends the message back through the session, as <see cref="WebSocketConnection.Send"/> does (compressed over the threshold when deflate was agreed).</summary>
    private void Echo(ReadOnlySpan<byte> payload, MessageType type)
    {
        if (_session.Send(payload, type, MaxBufferedBytes) == EnqueueResult.Queued)
        {
            Echoed.Add((type, payload.ToArray()));
        }
    }

    void ISessionHost.OnClosed(CloseCode code, ReadOnlySpan<byte> reason)
    {
        if (Closes.Count != 0)
        {
            throw new FuzzInvariantException($"OnClosed reported twice ({Closes[0].Code}, then {code})");
        }
        FuzzInvariantException.Check(CloseCodes.IsValidOnWire((int)code) || code == CloseCode.NoStatusReceived, $"close code {(int)code} reported");
        Closes.Add((code, reason.ToArray()));
    }

    void ISessionHost.OnTimeout(SessionTimeout timeout)
    {
        // The transport aborts the connection: no more reads; the teardown follows.
        Timeouts.Add(timeout.Describe());
        _timedOut = true;
    }

    void ISessionHost.OnEnded(Exception? error) => Ends++;

    /// <summary>Text of the sent bytes for messages.</summary>
    public override string ToString() => Encoding.Latin1.GetString(Sent);
}
