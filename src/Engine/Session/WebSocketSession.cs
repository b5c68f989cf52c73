using Engine.Protocol;
using Engine.Timers;
using Engine.Transports;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Session;

/// <summary>
/// The per-connection protocol state machine: request head and frames in, events to <see cref="ISessionHost"/> out,
/// frames into the connection's <see cref="OutboundQueue"/>. No sockets and no clock of its own: time comes in as a
/// number, so tests drive it with a fake clock. Pooled (<see cref="IResettable"/>): one instance serves many connections over time.
/// Threads: <see cref="Receive"/> runs on one receive thread at a time; <see cref="Close"/> may come from
/// any thread; <see cref="OnTimer"/> from the timer wheel.
/// </summary>
internal sealed partial class WebSocketSession : TimerEntry, IResettable
{
    /// <summary>The <see cref="ISessionHost.OnTimeout"/> reason of a handshake that did not complete in time.</summary>
    public const string HandshakeTimeout = "handshake timeout";

    private ISessionHost _host = null!;
    private OutboundQueue _output = null!;
    private TimerWheel _wheel = null!;
    private System.Buffers.ArrayPool<byte> _messageBuffers = null!;
    private SessionSettings _settings = null!;
    private int _state;

    // Frame being read (its header is consumed, its payload maybe not).
    private bool _inFrame;
    private FrameHeader _frame;
    private long _frameRemaining;
    private int _maskOffset;

    // Message being assembled across frames.
    private bool _inMessage;
    private MessageType _messageType;
    private long _messageLength;
    private int _messageFrames;
    private Utf8Validator _utf8;
    private byte[]? _assembly;

    // Deadlines in clock milliseconds; 0 = none. Written by the receive thread and the timer thread.
    private long _handshakeDeadline;
    private long _nextPingAt;
    private long _pongDeadline;
    private long _closeDeadline;
    private long _closeBacklog; // bytes queued ahead of (and with) our close frame when the close deadline was last armed
    private long _lastReceive;

    public SessionState State => (SessionState)Volatile.Read(ref _state);

    public void Start(ISessionHost host, OutboundQueue output, TimerWheel wheel, System.Buffers.ArrayPool<byte> messageBuffers,
        in SessionSettings settings, long nowMs)
    {
        _messageBuffers = messageBuffers;
        _host = host;
        _output = output;
        _wheel = wheel;
        _settings = settings;
        _state = (int)SessionState.Handshake;
        _lastReceive = nowMs;
        _handshakeDeadline = nowMs + settings.HandshakeTimeoutMs;
        _wheel.Schedule(this, _handshakeDeadline);
    }

    /// <summary>
    /// Consumes bytes from <paramref name="input"/> (unmasking payloads in place) and returns how many. The caller keeps
    /// the rest (a partial frame header, a partial control frame or an incomplete request head) and passes it again
    /// with more bytes behind it. Once <see cref="State"/> is <see cref="SessionState.Closed"/> the rest is to be discarded.
    /// </summary>
    public int Receive(Span<byte> input, long nowMs)
    {
        _lastReceive = nowMs;
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
        if (Interlocked.CompareExchange(ref _state, (int)SessionState.CloseSent, (int)SessionState.Open) != (int)SessionState.Open)
        {
            return false;
        }
        Span<byte> body = stackalloc byte[FrameRules.MaxControlPayload];
        int length = CloseFrames.WriteBody(body, code, reason);
        bool flush = QueueFinalFrame(body.Slice(0, length));
        ArmCloseDeadline(nowMs);
        if (flush)
        {
            _host.RequestFlush();
        }
        return true;
    }

    public override void OnTimer(long nowMs)
    {
        if (_host is null)
        {
            return; // fired just as the connection ended and the session went back to the pool
        }
        switch (State)
        {
            case SessionState.Handshake:
                if (nowMs >= _handshakeDeadline)
                {
                    _host.OnTimeout(HandshakeTimeout);
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
                long closeDeadline = Volatile.Read(ref _closeDeadline);
                if (closeDeadline != 0 && nowMs >= closeDeadline)
                {
                    // The peer cannot answer a close frame it has not received: while the frames queued ahead of it are
                    // still draining, the wait restarts (a slow reader gets every accepted message, then the close).
                    // A queue that made no progress in a whole close timeout ends the connection as before.
                    long backlog = _output.BufferedBytes;
                    if (backlog > 0 && backlog < Volatile.Read(ref _closeBacklog))
                    {
                        ArmCloseDeadline(nowMs);
                        return;
                    }
                    _host.OnTimeout("close timeout");
                    return;
                }
                break;
        }
        long next = NextDeadline();
        if (next != 0)
        {
            _wheel.Schedule(this, next);
        }
    }

    /// <summary>Returns pooled memory and forgets the connection; the session can serve another one.</summary>
    public bool TryReset()
    {
        _wheel?.Cancel(this);
        ReleaseAssembly();
        ReleaseDeflate();
        _host = null!;
        _output = null!;
        _state = (int)SessionState.Closed;
        _inFrame = false;
        _frame = default;
        _frameRemaining = 0;
        _maskOffset = 0;
        _inMessage = false;
        _messageLength = 0;
        _utf8.Reset();
        _handshakeDeadline = _nextPingAt = _pongDeadline = _closeDeadline = _closeBacklog = _lastReceive = 0;
        return true;
    }

    /// <returns>True when the connection was ended (no rescheduling).</returns>
    private bool OnOpenTimer(long nowMs)
    {
        long pongDeadline = Volatile.Read(ref _pongDeadline);
        if (pongDeadline != 0 && nowMs >= pongDeadline)
        {
            _host.OnTimeout("heartbeat timeout");
            return true;
        }
        if (_settings.IdleTimeoutMs > 0 && nowMs - Volatile.Read(ref _lastReceive) >= _settings.IdleTimeoutMs)
        {
            Close(CloseCode.GoingAway, "idle timeout", nowMs);
            return false;
        }
        if (_nextPingAt != 0 && nowMs >= _nextPingAt)
        {
            _nextPingAt = nowMs + _settings.HeartbeatIntervalMs;
            if (pongDeadline == 0)
            {
                Volatile.Write(ref _pongDeadline, nowMs + _settings.HeartbeatTimeoutMs);
            }
            if (_output.TryEnqueueFrame(Opcode.Ping, default, long.MaxValue, final: false, out bool flush) == EnqueueResult.Queued && flush)
            {
                _host.RequestFlush();
            }
        }
        return false;
    }

    private long NextDeadline()
    {
        switch (State)
        {
            case SessionState.Handshake:
                return _handshakeDeadline;
            case SessionState.Open:
                long next = long.MaxValue;
                if (_nextPingAt != 0)
                {
                    next = _nextPingAt;
                }
                long pong = Volatile.Read(ref _pongDeadline);
                if (pong != 0)
                {
                    next = Math.Min(next, pong);
                }
                if (_settings.IdleTimeoutMs > 0)
                {
                    next = Math.Min(next, Volatile.Read(ref _lastReceive) + _settings.IdleTimeoutMs);
                }
                return next == long.MaxValue ? 0 : next;
            default:
                return Volatile.Read(ref _closeDeadline);
        }
    }

    private void ArmCloseDeadline(long nowMs)
    {
        long deadline = nowMs + _settings.CloseTimeoutMs;
        Volatile.Write(ref _closeBacklog, _output.BufferedBytes);
        Volatile.Write(ref _closeDeadline, deadline);
        _wheel.Schedule(this, deadline);
    }

    /// <summary>Queues the close frame; no frame may follow it. Returns whether the caller must request a flush.</summary>
    private bool QueueFinalFrame(ReadOnlySpan<byte> closeBody)
    {
        _output.TryEnqueueFrame(Opcode.Close, closeBody, long.MaxValue, final: true, out bool flush);
        return flush;
    }
}
