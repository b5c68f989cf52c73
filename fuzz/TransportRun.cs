using System.Net.Sockets;
using Engine.Protocol;
using Engine.Runtime;
using Engine.Session;
using Engine.Timers;
using Engine.Transports.Epoll;
using Engine.Transports.Linux;

namespace Engine.Fuzz;

/// <summary>
/// One connection through a real event loop (<see cref="TransportLoops"/>): a peer socket connects to the loop's
/// listener, the loop accepts it, and the script says what happens between loop iterations: the peer writes pieces of
/// the stream, reads some of the server's output, half-closes or closes; the application sends, closes or aborts from
/// another thread; the loop sees an event it did not get from the kernel. Then the run settles (the peer writes the
/// rest and reads everything until nothing moves), the peer closes, and the loop turns until the connection has ended.
/// Everything happens on the loop thread except the application's calls, and the caller waits for each, so a run is
/// deterministic. Records what the application and the peer saw.
/// </summary>
internal sealed class TransportRun : ISessionHost
{
    /// <summary>The send limit echoes are queued under, as in <see cref="SessionRun"/> (so the two runs echo the same).</summary>
    public const long EchoLimit = 1 << 20;

    /// <summary>A server requires its request head limit to fit a block.</summary>
    public const int MaxRequestHeadSize = TransportLoops.BlockSize;

    /// <summary>Turns the run may take to settle; an input is far shorter (the loop reads up to 16-64 KiB a turn).</summary>
    private const int SettleTurns = 20_000;

    /// <summary>Turns the connection may take to end once the peer closed: one read (epoll), or a cancel and its completion (io_uring).</summary>
    private const int EndTurns = 64;

    /// <summary>
    /// How long the run waits, in all, for what the kernel finishes on its own time (milliseconds). io_uring hands a send
    /// that found the socket full twice to an io-wq worker thread, which blocks in send() on the (blocking) socket: its
    /// completion, or its cancel's, comes when that thread has run, not at the next turn. The real loop sleeps in
    /// io_uring_enter until it comes; the harness turns without sleeping while anything else moves, then waits for it.
    /// Far under afl-fuzz's 10 s hang limit; the completion normally comes within a millisecond.
    /// </summary>
    private const int KernelWaitMs = 3_000;

    /// <summary>One waiting turn (milliseconds).</summary>
    private const int WaitTurnMs = 10;

    private static readonly WorkerThread Application = new("fuzz-application");
    private static readonly byte[] AppMessage = new byte[700];
    private static readonly byte[] ReadBuffer = new byte[64 * 1024];

    private readonly TransportLoops.Loop _loop;
    private readonly byte[] _stream;
    private readonly bool _echo;
    private readonly List<byte> _received = [];
    private readonly List<byte> _streamed = [];
    private MessageType _streamedType;
    private Socket? _peer;
    private bool _peerWrites = true;
    private WebSocketSession? _session;
    private LinuxConnection? _connection;
    private int _events;
    private string? _descriptor;
    private string? _callbackFailure;

    private TransportRun(TransportOptions options, byte[] stream)
    {
        Options = options;
        _stream = stream;
        _loop = TransportLoops.Get(options.HasFlag(TransportOptions.Uring), options.HasFlag(TransportOptions.SmallSendLimit));
        _loop.FillPools();
        MessageBuffers = new CountingArrayPool();
        Wheel = new TimerWheel(100, 64, 0);
        Settings = SessionRun.SettingsFor(SessionOptionsFor(options), MaxRequestHeadSize, null) with { MessageBuffers = MessageBuffers, Wheel = Wheel };
        _echo = !options.HasFlag(TransportOptions.NoEcho) && !Settings.Streamed;
    }

    public TransportOptions Options { get; }

    public SessionSettings Settings { get; }

    public TimerWheel Wheel { get; }

    public CountingArrayPool MessageBuffers { get; }

    /// <summary>How many stream bytes the peer got into its socket (the server read at most these).</summary>
    public int Written { get; private set; }

    /// <summary>Every byte the peer read from the server, in order.</summary>
    public byte[] Received => [.. _received];

    /// <summary>Whether the application did anything (its sends and closes change the server's output).</summary>
    public bool ApplicationActed { get; private set; }

    /// <summary>
    /// Whether the run settled with everything written and the peer still there: the server then read the whole stream
    /// and sent everything it had to, so the output is whole and the same as one read of the stream gives.
    /// </summary>
    public bool Complete { get; private set; }

    public int Opens { get; private set; }

    /// <summary>How often the session reported the connection's end (exactly once).</summary>
    public int Ends { get; private set; }

    public Exception? EndError { get; private set; }

    public List<(MessageType Type, byte[] Payload)> Messages { get; } = [];

    public List<(CloseCode Code, byte[] Reason)> Closes { get; } = [];

    public List<string> Timeouts { get; } = [];

    private long Progress => Written + _received.Count + _events;

    public static SessionOptions SessionOptionsFor(TransportOptions options) =>
        (options.HasFlag(TransportOptions.SmallLimits) ? SessionOptions.SmallLimits : 0)
        | (options.HasFlag(TransportOptions.NoEcho) ? SessionOptions.NoEcho : 0)
        | (options.HasFlag(TransportOptions.Streamed) ? SessionOptions.Streamed : 0)
        | SessionOptions.Raw;

    /// <summary>Runs <paramref name="script"/> over a connection that carries <paramref name="stream"/> (handshake included).</summary>
    public static TransportRun Execute(TransportOptions options, byte[] script, byte[] stream)
    {
        TransportRun? run = null;
        TransportLoops.Thread.Invoke(() =>
        {
            run = new TransportRun(options, stream);
            run.Drive(script);
        });
        return run!;
    }

    private void Drive(byte[] script)
    {
        _loop.Accepted = Accept;
        try
        {
            _peer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _peer.Connect(_loop.EndPoint);
            _peer.Blocking = false;
            for (int i = 0; i < 4 && _connection is null; i++)
            {
                _loop.Turn();
            }
            FuzzInvariantException.Check(_connection is not null, "the loop did not accept the connection");
            _descriptor = Descriptor(_connection!.Fd);
            if (Options.HasFlag(TransportOptions.SmallSocketBuffer))
            {
                SetSendBuffer(_connection!.Fd, 1); // the kernel rounds it up to its minimum (4.6 KiB)
            }
            foreach (byte step in script)
            {
                Do(step);
            }
            Settle();
            _peer?.Dispose();
            _peer = null;
            for (int i = 0; i < EndTurns && Ends == 0; i++)
            {
                _loop.Turn();
            }
            for (int waited = 0; waited < KernelWaitMs && Ends == 0; waited += WaitTurnMs)
            {
                _loop.Wait(WaitTurnMs);
            }
            CheckTeardown();
            // Completions still on their way (a cancel that found its receive already done) arrive now, not in the next run.
            for (int i = 0; i < 2; i++)
            {
                _loop.Turn();
            }
        }
        finally
        {
            _loop.Accepted = null;
            _peer?.Dispose();
        }
    }

    private void Accept(LinuxConnection connection)
    {
        FuzzInvariantException.Check(_connection is null, "a second connection accepted");
        _connection = connection;
        _session = new WebSocketSession(connection.Output);
        _session.Start(this, Settings, 0);
        connection.Start(_session);
    }

    private void Do(byte step)
    {
        switch (step)
        {
            case < (byte)TransportOp.WriteLarge:
                PeerWrite((step & 0x3F) + 1);
                break;
            case < (byte)TransportOp.Turn:
                PeerWrite(((step & 0x1F) + 1) * 512);
                break;
            case < (byte)TransportOp.Read:
                for (int i = 0; i <= (step & 0x0F); i++)
                {
                    _loop.Turn();
                }
                break;
            case < (byte)TransportOp.Spurious:
                PeerRead(step == 0x7F ? int.MaxValue : ((step & 0x0F) + 1) * 256);
                break;
            case < (byte)TransportOp.Application:
                Spurious(step & 3);
                break;
            case < (byte)TransportOp.PeerShutdown:
                ApplicationActed = true;
                Application.Invoke(() => ApplicationCall(step & 3, ((step >> 2) & 7) * 100));
                break;
            case < (byte)TransportOp.PeerClose:
                if (_peer is not null && _peerWrites)
                {
                    _peer.Shutdown(SocketShutdown.Send);
                    _peerWrites = false;
                }
                break;
            default:
                _peer?.Dispose();
                _peer = null;
                break;
        }
    }

    private void Spurious(int kind)
    {
        LinuxConnection connection = _connection!;
        if (kind == 0 || connection is not EpollConnection epoll)
        {
            connection.OnPosted(); // a posted flush may land after the connection closed: the real loop runs it too
        }
        else if (Ends == 0)
        {
            // The loop looks a connection up by its slot, so it never hands an event to one that has ended.
            epoll.OnEvents(kind switch
            {
                1 => (uint)Native.EPOLLIN,
                2 => (uint)Native.EPOLLOUT,
                _ => (uint)(Native.EPOLLIN | Native.EPOLLHUP),
            });
        }
    }

    private void ApplicationCall(int kind, int length)
    {
        switch (kind)
        {
            case 0 when Opens > 0: // WebSocketConnection.Send refuses before the open
                _session!.Send(AppMessage.AsSpan(0, length), MessageType.Binary, EchoLimit);
                break;
            case 0:
                break;
            case 1:
                _session!.Close(CloseCode.GoingAway, "application close", 0);
                break;
            case 2:
                _connection!.Abort();
                break;
            default:
                _connection!.RequestFlush();
                break;
        }
    }

    /// <summary>The peer writes the rest and reads everything, the loop turning, until nothing moves for a few turns.</summary>
    private void Settle()
    {
        if (_peer is null)
        {
            return;
        }
        int idle = 0;
        int waited = 0;
        for (int i = 0; i < SettleTurns && idle < 4; i++)
        {
            long before = Progress;
            PeerWrite(int.MaxValue);
            PeerRead(int.MaxValue);
            _loop.Turn();
            if (Progress != before)
            {
                idle = 0;
            }
            else if (Ends == 0 && _connection!.Output.BufferedBytes > 0 && waited < KernelWaitMs)
            {
                // Nothing moved but the server still has bytes to send, which the peer reads as they come: a send is
                // with an io-wq worker (see KernelWaitMs).
                _loop.Wait(WaitTurnMs);
                waited += WaitTurnMs;
            }
            else
            {
                idle++;
            }
        }
        FuzzInvariantException.Check(idle >= 4, $"the connection still moved bytes after {SettleTurns} turns");
        FuzzInvariantException.Check(Ends != 0 || _connection!.Output.BufferedBytes == 0,
            $"{_connection!.Output.BufferedBytes} bytes still queued after {KernelWaitMs} ms with the peer reading everything: {State(_connection)}");
        Complete = _peerWrites && Written == _stream.Length && Ends == 0;
    }

    private int PeerWrite(int count)
    {
        int length = Math.Min(count, _stream.Length - Written);
        if (_peer is null || !_peerWrites || length == 0)
        {
            return 0;
        }
        int sent = _peer.Send(_stream.AsSpan(Written, length), SocketFlags.None, out SocketError error);
        if (error == SocketError.Success)
        {
            Written += sent;
            return sent;
        }
        if (error != SocketError.WouldBlock)
        {
            _peerWrites = false; // the server closed its socket
        }
        return 0;
    }

    private void PeerRead(int count)
    {
        while (_peer is not null && count > 0)
        {
            int received = _peer.Receive(ReadBuffer.AsSpan(0, Math.Min(count, ReadBuffer.Length)), SocketFlags.None, out SocketError error);
            if (error != SocketError.Success || received == 0)
            {
                return; // nothing yet, the server's FIN, or its reset
            }
            _received.AddRange(ReadBuffer.AsSpan(0, received));
            count -= received;
        }
    }

    /// <summary>
    /// A broken invariant inside a callback: recorded, not thrown, because the transport catches what the session throws
    /// and closes the connection with it; the teardown check reports it.
    /// </summary>
    private void Expect(bool condition, string what)
    {
        if (!condition)
        {
            _callbackFailure ??= what;
        }
    }

    private void CheckTeardown()
    {
        LinuxConnection connection = _connection!;
        FuzzInvariantException.Check(_callbackFailure is null, _callbackFailure!);
        // The transport ends a connection with an exception only for a socket error; anything else is a bug it absorbed.
        FuzzInvariantException.Check(EndError is null or SocketException, $"the connection ended with {EndError}");
        FuzzInvariantException.Check(Ends == 1, $"the end of the connection was reported {Ends} times ({EndTurns} turns after the peer closed): {State(connection)}");
        FuzzInvariantException.Check(_loop.Pool.Outstanding == 0, $"{_loop.Pool.Outstanding} blocks outstanding after the connection ended");
        FuzzInvariantException.Check(MessageBuffers.Outstanding == 0, $"{MessageBuffers.Outstanding} message buffers outstanding after the connection ended");
        FuzzInvariantException.Check(!connection.HoldsKeptBytes, "kept bytes not given back after the connection ended");
        // By what it refers to, not its number: the runtime may open a file that gets the number meanwhile.
        FuzzInvariantException.Check(Descriptor(connection.Fd) != _descriptor, $"descriptor {connection.Fd} ({_descriptor}) still open after the connection ended");
    }

    UpgradeDecision ISessionHost.OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head) => UpgradeDecision.Accept();

    HttpResponse? ISessionHost.OnHttpRequest(ReadOnlySpan<byte> buffer, in HttpRequestHead head) => null;

    void ISessionHost.OnOpen()
    {
        Opens++;
        _events++;
    }

    void ISessionHost.OnMessage(ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage)
    {
        _events++;
        Expect(Closes.Count == 0, "a message delivered after the close was reported");
        Expect(_streamed.Count == 0 || type == _streamedType, "a message changed type between its pieces");
        _streamedType = type;
        _streamed.AddRange(payload);
        if (endOfMessage)
        {
            Messages.Add((type, [.. _streamed]));
            _streamed.Clear();
            if (_echo)
            {
                _session!.Send(payload, type, EchoLimit);
            }
        }
    }

    void ISessionHost.OnClosed(CloseCode code, ReadOnlySpan<byte> reason)
    {
        _events++;
        Expect(Closes.Count == 0, $"OnClosed reported twice ({(Closes.Count > 0 ? Closes[0].Code : 0)}, then {code})");
        Closes.Add((code, reason.ToArray()));
    }

    void ISessionHost.OnTimeout(SessionTimeout timeout) => Timeouts.Add(timeout.Describe());

    void ISessionHost.OnEnded(Exception? error)
    {
        _events++;
        Ends++;
        EndError = error;
        Expect(Ends == 1, "the end of the connection reported twice");
    }

    private static unsafe void SetSendBuffer(int fd, int size)
    {
        const int SolSocket = 1;
        const int SoSndBuf = 7;
        Native.setsockopt(fd, SolSocket, SoSndBuf, &size, sizeof(int));
    }

    /// <summary>The connection's fields, for a failure message (which operation it still waits for).</summary>
    private static string State(object connection)
    {
        var fields = new List<string>();
        for (Type? type = connection.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (System.Reflection.FieldInfo field in type.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly))
            {
                object? value = field.GetValue(connection);
                if (value is null or bool or int or long or Exception)
                {
                    fields.Add($"{field.Name}={value}");
                }
            }
        }
        return string.Join(", ", fields);
    }

    /// <summary>What descriptor <paramref name="fd"/> refers to ("socket:[inode]"), or null when it is not open.</summary>
    private static string? Descriptor(int fd) => new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
}
