using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Engine.Transports.Linux;

namespace Engine.Transports.Epoll;

/// <summary>
/// A connection owned by one <see cref="EpollLoop"/>: non-blocking read and writev on its file descriptor, on the loop
/// thread only. Between reads it holds no buffer, except the few bytes of a partial frame header or request head
/// (kept in a small pooled array until the rest arrives).
/// </summary>
internal sealed unsafe class EpollConnection : LinuxConnection
{
    private const int MaxVectors = 64;

    // The epoll events watched: the ones used (IN, OUT, RDHUP) fit 16 bits, and with the flag after it the fields end
    // 8 B sooner than with an int (memory per idle connection).
    private ushort _interest = Native.EPOLLIN | Native.EPOLLRDHUP;
    private bool _sending;

    public EpollConnection(EpollLoop loop, int fd, int slot, PeerAddress peer)
        : base(fd, slot, peer, loop.Buffers)
    {
    }

    // The loop named by the buffers it gave this connection: no field of its own (memory per idle connection).
    private EpollLoop Loop => Unsafe.As<EpollLoop>(Buffers.Loop!);

    protected override bool OnLoopThread => Loop.OnLoopThread;

    protected override void MarkDirty() => Loop.MarkDirty(this);

    protected override void PostToLoop() => Loop.Post(this);

    /// <summary>Loop thread: epoll reported <paramref name="events"/>.</summary>
    public void OnEvents(uint events)
    {
        if ((events & Native.EPOLLOUT) != 0 && !Closed)
        {
            Flush();
        }
        if ((events & (Native.EPOLLIN | Native.EPOLLHUP | Native.EPOLLERR | Native.EPOLLRDHUP)) != 0 && !Closed)
        {
            OnReadable();
        }
    }

    /// <summary>Loop thread: reads without waiting for epoll's report, if reading is what the connection waits for.</summary>
    public void ReadAhead()
    {
        if ((_interest & Native.EPOLLIN) != 0 && !Closed)
        {
            OnReadable();
        }
    }

    /// <summary>Loop thread: writes what the queue holds with writev until done or the socket is full.</summary>
    public override void Flush()
    {
        if (Closed)
        {
            return;
        }
        SendQueue output = Output;
        if (!_sending)
        {
            if (!output.TryBeginSend())
            {
                TryHalfClose();
                return;
            }
            _sending = true;
        }
        Native.IoVector* vectors = stackalloc Native.IoVector[MaxVectors];
        while (true)
        {
            ReadOnlySpan<SendSegment> segments = output.GetInFlight();
            nint written;
            if (!segments[0].IsPinned)
            {
                // A large frame in a pooled array that is not pinned: pinned for this call only, sent on its own.
                fixed (byte* at = segments[0].Array)
                {
                    vectors[0].Base = at + segments[0].Offset;
                    vectors[0].Length = (nuint)segments[0].Count;
                    written = Native.writev(Fd, vectors, 1);
                }
            }
            else
            {
                written = Native.writev(Fd, vectors, GatherPinned(segments, vectors, MaxVectors));
            }
            if (written < 0)
            {
                int error = Native.LastError;
                if (error == Native.EAGAIN)
                {
                    SetInterest(_interest | Native.EPOLLOUT);
                    return; // keep the send right; EPOLLOUT resumes
                }
                if (error == Native.EINTR)
                {
                    continue;
                }
                Close(Native.ToSocketException(error));
                return;
            }
            if (output.OnSent((int)written) && !output.TryContinueSend())
            {
                break;
            }
        }
        _sending = false;
        if ((_interest & Native.EPOLLOUT) != 0 || (_interest & Native.EPOLLIN) == 0)
        {
            // Drained: stop watching for writability, and resume reading if backpressure paused it.
            SetInterest(Native.EPOLLIN | Native.EPOLLRDHUP);
        }
        TryHalfClose();
    }

    private void OnReadable()
    {
        byte[] buffer = Loop.ReceiveBuffer;
        int have = TakeKept(buffer);
        nint received;
        fixed (byte* at = &buffer[have])
        {
            received = Native.read(Fd, at, buffer.Length - have);
        }
        if (received <= 0)
        {
            int error = received < 0 ? Native.LastError : 0;
            if (received < 0 && (error == Native.EAGAIN || error == Native.EINTR))
            {
                Keep(buffer.AsSpan(0, have));
                return;
            }
            Close(received == 0 ? null : Native.ToSocketException(error)); // 0: the peer closed (FIN)
            return;
        }
        ReceiveOutcome? outcome = DeliverRead(buffer.AsSpan(0, have + (int)received));
        if (outcome is { } value && (value & ReceiveOutcome.OverLimit) != 0 && (value & ReceiveOutcome.Finished) == 0)
        {
            // Read-side backpressure: stop reading until the flush drains the replies (TCP slows the peer).
            SetInterest(_interest & ~Native.EPOLLIN);
        }
    }

    private void SetInterest(int interest)
    {
        if (interest != _interest && !Closed)
        {
            _interest = (ushort)interest;
            Loop.Control(Native.EPOLL_CTL_MOD, Fd, interest, (ulong)Slot);
        }
    }

    protected override void Close(Exception? error)
    {
        if (!TryMarkClosed())
        {
            return;
        }
        Loop.Unregister(this);
        CloseDescriptor();
        ReleaseKept();
        Output.Dispose();
        Handler.OnTransportClosed(error);
    }
}
