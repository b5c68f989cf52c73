using System.Runtime.CompilerServices;
using Engine.Compression;
using Engine.Protocol;
using Engine.Timers;

namespace Engine.Session;

/// <summary>
/// The per-connection protocol state machine: the transport hands it bytes (<see cref="ITransportHandler"/>), it
/// reports events to its <see cref="ISessionHost"/> (the connection facade), and every frame the connection sends is
/// framed here and written to the transport's <see cref="IFrameOutput"/>. No sockets and no clock of its own: time
/// comes in as a number, so tests drive it with a fake clock. One per connection, never reused (any thread may send
/// through it until the connection is gone).
/// Threads: <see cref="Receive"/> runs on one receive thread at a time; <see cref="Send"/> and <see cref="Close"/>
/// may come from any thread; <see cref="OnTimer"/> from the timer wheel.
/// </summary>
internal sealed partial class WebSocketSession : TimerEntry, ITransportHandler
{
    private readonly IFrameOutput _output;
    private ISessionHost _host = null!;
    private SessionSettings _settings = null!;
    private byte _state; // a SessionState; a byte (Interlocked has byte overloads) packs it with the flags below

    // The data message being received (a MessageInProgress, once one does not arrive whole in a read; null between
    // messages and for every message that arrives whole, so an idle connection holds no parse state), or on a connection
    // that agreed permessage-deflate its SessionDeflate, which then holds the message in progress: one field for
    // both (memory per idle connection), read through Message and Deflate.
    private object? _messageOrDeflate;

    // Deadlines as 32-bit clock stamps (ClockStamp: 4 B each, not 8); ClockStamp.None = none. Written by the receive
    // thread, the timer thread and a closing thread. One field serves each phase in turn (memory per idle connection):
    // the handshake's deadline, then while open the next ping's time, then the close deadline. Ping times are odd
    // stamps and deadlines even, so a reader that sees the state and the field change in between (a close arming its
    // deadline just after leaving Open) tells which it read. The pong deadline follows from the ping time: the last
    // ping went out one interval before the next one, and at most one is unanswered at a time.
    private int _deadlineOrPing;
    private int _lastReceive;

    private byte _ended; // a byte, not an int: with the state and the two flags below it takes 4 bytes in all
    private byte _awaitingPong; // a ping is out and no pong has come back since: set by the timer, cleared by a pong
    private ReceiveFlags _receiveFlags; // receive thread only

    // The transport ended while Receive was on the stack (a callback aborted the connection): released once it unwinds.
    [Flags]
    private enum ReceiveFlags : byte
    {
        Receiving = 1,
        ReleaseDeferred = 2,
    }

    /// <summary>A session that will write its frames to <paramref name="output"/>; <see cref="Start"/> or <see cref="StartOpen"/> begins it.</summary>
    public WebSocketSession(IFrameOutput output) => _output = output;

    public SessionState State => (SessionState)Volatile.Read(ref _state);

    /// <summary>The connection's permessage-deflate state when the handshake agreed it, else null. Set before OnOpen. Any thread.</summary>
    public PerMessageDeflate? Deflate => _messageOrDeflate as SessionDeflate;

    /// <summary>The data message in progress, or null. Receive thread.</summary>
    private MessageInProgress? Message
    {
        // The field holds one of the two types or null, so a deflate-less read needs no second type check.
        get => _messageOrDeflate is SessionDeflate deflate ? deflate.Message : Unsafe.As<MessageInProgress>(_messageOrDeflate);
        set
        {
            if (_messageOrDeflate is SessionDeflate deflate)
            {
                deflate.Message = value;
            }
            else
            {
                _messageOrDeflate = value;
            }
        }
    }

    /// <summary>Where this session's frames go (its transport's send queue): the facade reaches its transport through it.</summary>
    public IFrameOutput Output => _output;

    /// <summary>The per-server settings this session was started with (null until then).</summary>
    public SessionSettings Settings => _settings;

    /// <summary>Starts serving a connection: per-server limits, pools and the timer wheel in <paramref name="settings"/>.</summary>
    public void Start(ISessionHost host, SessionSettings settings, long nowMs)
    {
        Attach(host, settings, nowMs);
        long deadline = nowMs + settings.HandshakeTimeoutMs;
        _deadlineOrPing = ClockStamp.Deadline(deadline);
        _settings.Wheel.Schedule(this, deadline);
    }

    /// <summary>
    /// Consumes bytes from <paramref name="input"/> (unmasking payloads in place) and returns how many. The caller keeps
    /// the rest (a partial frame header, a partial control frame or an incomplete request head) and passes it again
    /// with more bytes behind it. Once <see cref="State"/> is <see cref="SessionState.Closed"/> the rest is to be discarded.
    /// </summary>
    public int Receive(Span<byte> input, long nowMs)
    {
        _lastReceive = ClockStamp.Of(nowMs);
        int position = 0;
        if (State == SessionState.Handshake)
        {
            position = ReceiveHandshake(input, nowMs);
            if (State != SessionState.Open)
            {
                return position;
            }
        }
        return position + ReceiveFrames(input.Slice(position), nowMs);
    }

    /// <summary>Starts the close handshake from our side. False when a close was already sent or received. Thread-safe.</summary>
    public bool Close(CloseCode code, string reason, long nowMs)
    {
        if (Interlocked.CompareExchange(ref _state, (byte)SessionState.CloseSent, (byte)SessionState.Open) != (byte)SessionState.Open)
        {
            return false;
        }
        Span<byte> body = stackalloc byte[FrameRules.MaxControlPayload];
        int length = CloseFrames.WriteBody(body, code, reason);
        QueueFinalFrame(body.Slice(0, length));
        ArmCloseDeadline(nowMs);
        return true;
    }

    public override void OnTimer(long nowMs)
    {
        if (Volatile.Read(ref _ended) != 0)
        {
            return; // fired just as the connection ended
        }
        switch (State)
        {
            case SessionState.Handshake:
                int handshakeDeadline = Volatile.Read(ref _deadlineOrPing);
                if (IsDeadline(handshakeDeadline) && ClockStamp.Reached(nowMs, handshakeDeadline)) // else the handshake just completed
                {
                    _host.OnTimeout(SessionTimeout.Handshake);
                    return;
                }
                break;
            case SessionState.Open:
                if (OnOpenTimer(nowMs))
                {
                    return;
                }
                break;
            default:
                int closeDeadline = Volatile.Read(ref _deadlineOrPing);
                if (!IsDeadline(closeDeadline))
                {
                    return; // a ping time: the connection is leaving Open, and its closer arms the deadline and the wheel next
                }
                if (ClockStamp.Reached(nowMs, closeDeadline))
                {
                    // The peer cannot answer a close frame it has not received: while the frames queued ahead of it are
                    // still draining, the wait restarts (a slow reader gets every accepted message, then the close).
                    // A queue that made no progress in a whole close timeout ends the connection as before.
                    // The bytes queued ahead of (and with) our close frame are marked in the output each time the deadline is
                    // armed (kept there while bytes are queued: memory per idle connection).
                    if (_output.DrainedSinceMark)
                    {
                        ArmCloseDeadline(nowMs);
                        return;
                    }
                    _host.OnTimeout(SessionTimeout.Close);
                    return;
                }
                break;
        }
        long next = NextDeadline(nowMs);
        if (next != 0)
        {
            _settings.Wheel.Schedule(this, next);
        }
    }

    int ITransportHandler.OnReceived(Span<byte> data)
    {
        _receiveFlags = ReceiveFlags.Receiving;
        try
        {
            return Receive(data, _settings.Clock());
        }
        finally
        {
            bool deferred = _receiveFlags.HasFlag(ReceiveFlags.ReleaseDeferred);
            _receiveFlags = 0;
            if (deferred)
            {
                Release();
            }
        }
    }

    bool ITransportHandler.IsFinished => State == SessionState.Closed;

    void ITransportHandler.OnTransportClosed(Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, (byte)1) != 0)
        {
            return;
        }
        Volatile.Write(ref _state, (byte)SessionState.Closed); // a Close from another thread now returns false
        if (_receiveFlags.HasFlag(ReceiveFlags.Receiving))
        {
            _receiveFlags |= ReceiveFlags.ReleaseDeferred; // aborted from a callback inside Receive (same thread): its buffers are in use
        }
        else
        {
            Release();
        }
        _host.OnEnded(error);
    }

    /// <summary>The connection is over: the timer entry and pooled memory go back. The output is the transport's to dispose.</summary>
    public void Release()
    {
        _receiveFlags &= ~ReceiveFlags.ReleaseDeferred;
        _settings?.Wheel.Cancel(this); // null: never started
        ReleaseAssembly();
        ReleaseDeflate();
        EndMessage();
    }

    /// <returns>True when the connection was ended (no rescheduling).</returns>
    private bool OnOpenTimer(long nowMs)
    {
        int ping = Volatile.Read(ref _deadlineOrPing);
        bool heartbeat = ClockStamp.IsOdd(ping); // even: no heartbeat, or a close deadline armed just now
        if (heartbeat && Volatile.Read(ref _awaitingPong) != 0 && ClockStamp.Reached(nowMs, PongDeadline(ping)))
        {
            _host.OnTimeout(SessionTimeout.Heartbeat);
            return true;
        }
        if (_settings.IdleTimeoutMs > 0 && ClockStamp.Reached(nowMs - _settings.IdleTimeoutMs, Volatile.Read(ref _lastReceive)))
        {
            Close(CloseCode.GoingAway, "idle timeout", nowMs);
            return false;
        }
        // One ping at a time: while one is unanswered (a timeout longer than the interval) the next waits for its pong,
        // so the pong's deadline stays where the unanswered ping put it.
        if (heartbeat && ClockStamp.Reached(nowMs, ping) && Volatile.Read(ref _awaitingPong) == 0
            && Interlocked.CompareExchange(ref _deadlineOrPing, ClockStamp.Early(nowMs + _settings.HeartbeatIntervalMs), ping) == ping)
        {
            Volatile.Write(ref _awaitingPong, 1); // before the ping leaves: its pong clears it
            WriteFrame(Opcode.Ping, default, long.MaxValue, final: false);
        }
        return false;
    }

    /// <summary>The nearest deadline as a full clock reading (near <paramref name="nowMs"/>), or 0 for none.</summary>
    private long NextDeadline(long nowMs)
    {
        long next = long.MaxValue;
        int stamp = Volatile.Read(ref _deadlineOrPing);
        if (State == SessionState.Open && ClockStamp.IsOdd(stamp))
        {
            if (!ClockStamp.Reached(nowMs, stamp))
            {
                next = ClockStamp.ToMs(nowMs, stamp);
            }
            if (Volatile.Read(ref _awaitingPong) != 0)
            {
                next = Math.Min(next, ClockStamp.ToMs(nowMs, PongDeadline(stamp)));
            }
        }
        else if (stamp != ClockStamp.None)
        {
            next = ClockStamp.ToMs(nowMs, stamp); // the handshake's or the close's deadline (or a close arming its own)
        }
        if (State == SessionState.Open && _settings.IdleTimeoutMs > 0)
        {
            next = Math.Min(next, ClockStamp.ToMs(nowMs, Volatile.Read(ref _lastReceive)) + _settings.IdleTimeoutMs);
        }
        return next == long.MaxValue ? 0 : next;
    }

    /// <summary>
    /// When the pong to the last ping is due: that ping went out one interval before <paramref name="nextPing"/> (or 1 ms
    /// later: the stamp may round down), so the deadline is never early.
    /// </summary>
    private int PongDeadline(int nextPing) => unchecked(nextPing - (int)_settings.HeartbeatIntervalMs + (int)_settings.HeartbeatTimeoutMs + 1);

    private static bool IsDeadline(int stamp) => stamp != ClockStamp.None && !ClockStamp.IsOdd(stamp);

    private void ArmCloseDeadline(long nowMs)
    {
        long deadline = nowMs + _settings.CloseTimeoutMs;
        _output.MarkBacklog();
        Volatile.Write(ref _deadlineOrPing, ClockStamp.Deadline(deadline));
        _settings.Wheel.Schedule(this, deadline);
    }

    /// <summary>Queues the close frame; no frame may follow it.</summary>
    private void QueueFinalFrame(ReadOnlySpan<byte> closeBody) => WriteFrame(Opcode.Close, closeBody, long.MaxValue, final: true);
}
