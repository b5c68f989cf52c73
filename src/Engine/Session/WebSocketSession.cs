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
    // thread and the timer thread. The opening and the closing handshake never overlap, so one field holds the deadline
    // of either (memory per idle connection).
    private int _handshakeOrCloseDeadline;
    private int _nextPingAt;
    private int _pongDeadline;
    private int _lastReceive;

    // The transport ended while Receive was on the stack (a callback aborted the connection): released once it unwinds.
    private bool _receiving;
    private bool _releaseDeferred;
    private byte _ended; // a byte, not an int: with the state and flags above it takes 4 bytes in all

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
        _handshakeOrCloseDeadline = ClockStamp.Of(deadline);
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
                int handshakeDeadline = Volatile.Read(ref _handshakeOrCloseDeadline);
                if (handshakeDeadline != ClockStamp.None && ClockStamp.Reached(nowMs, handshakeDeadline)) // None: the handshake just completed
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
                int closeDeadline = Volatile.Read(ref _handshakeOrCloseDeadline);
                if (closeDeadline != ClockStamp.None && ClockStamp.Reached(nowMs, closeDeadline))
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
        _receiving = true;
        try
        {
            return Receive(data, _settings.Clock());
        }
        finally
        {
            _receiving = false;
            if (_releaseDeferred)
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
        if (_receiving)
        {
            _releaseDeferred = true; // aborted from a callback inside Receive (same thread): its buffers are in use
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
        _releaseDeferred = false;
        _settings?.Wheel.Cancel(this); // null: never started
        ReleaseAssembly();
        ReleaseDeflate();
        EndMessage();
    }

    /// <returns>True when the connection was ended (no rescheduling).</returns>
    private bool OnOpenTimer(long nowMs)
    {
        int pongDeadline = Volatile.Read(ref _pongDeadline);
        if (pongDeadline != ClockStamp.None && ClockStamp.Reached(nowMs, pongDeadline))
        {
            _host.OnTimeout(SessionTimeout.Heartbeat);
            return true;
        }
        if (_settings.IdleTimeoutMs > 0 && ClockStamp.Reached(nowMs - _settings.IdleTimeoutMs, Volatile.Read(ref _lastReceive)))
        {
            Close(CloseCode.GoingAway, "idle timeout", nowMs);
            return false;
        }
        if (_nextPingAt != ClockStamp.None && ClockStamp.Reached(nowMs, _nextPingAt))
        {
            _nextPingAt = ClockStamp.Of(nowMs + _settings.HeartbeatIntervalMs);
            if (pongDeadline == ClockStamp.None)
            {
                Volatile.Write(ref _pongDeadline, ClockStamp.Of(nowMs + _settings.HeartbeatTimeoutMs));
            }
            WriteFrame(Opcode.Ping, default, long.MaxValue, final: false);
        }
        return false;
    }

    /// <summary>The nearest deadline as a full clock reading (near <paramref name="nowMs"/>), or 0 for none.</summary>
    private long NextDeadline(long nowMs)
    {
        long next = long.MaxValue;
        if (State == SessionState.Open)
        {
            if (_nextPingAt != ClockStamp.None)
            {
                next = ClockStamp.ToMs(nowMs, _nextPingAt);
            }
            int pong = Volatile.Read(ref _pongDeadline);
            if (pong != ClockStamp.None)
            {
                next = Math.Min(next, ClockStamp.ToMs(nowMs, pong));
            }
            if (_settings.IdleTimeoutMs > 0)
            {
                next = Math.Min(next, ClockStamp.ToMs(nowMs, Volatile.Read(ref _lastReceive)) + _settings.IdleTimeoutMs);
            }
        }
        else if (Volatile.Read(ref _handshakeOrCloseDeadline) is var deadline and not ClockStamp.None)
        {
            next = ClockStamp.ToMs(nowMs, deadline);
        }
        return next == long.MaxValue ? 0 : next;
    }

    private void ArmCloseDeadline(long nowMs)
    {
        long deadline = nowMs + _settings.CloseTimeoutMs;
        _output.MarkBacklog();
        Volatile.Write(ref _handshakeOrCloseDeadline, ClockStamp.Of(deadline));
        _settings.Wheel.Schedule(this, deadline);
    }

    /// <summary>Queues the close frame; no frame may follow it.</summary>
    private void QueueFinalFrame(ReadOnlySpan<byte> closeBody) => WriteFrame(Opcode.Close, closeBody, long.MaxValue, final: true);
}
