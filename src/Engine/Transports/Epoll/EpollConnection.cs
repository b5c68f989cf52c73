using System.Buffers;
using System.Net.Sockets;
using Engine.Transports.Linux;

namespace Engine.Transports.Epoll;

/// <summary>
/// A connection owned by one <see cref="EpollLoop"/>: non-blocking read and writev on its file descriptor, on the loop
/// thread only. Between reads it holds no buffer, except the few bytes of a partial frame header or request head
/// (kept in a pooled block until the rest arrives).
/// </summary>
internal sealed unsafe class EpollConnection : LinuxConnection
{
    private const int MaxVectors = 64;

    private readonly EpollLoop _loop;
    private ReceiveSpill _spill;
    private int _interest = Native.EPOLLIN | Native.EPOLLRDHUP;
    private bool _sending;
    private bool _halfClosed;
    private bool _closed;

    public EpollConnection(EpollLoop loop, int fd, int slot, PeerAddress peer)
        : base(fd, slot, peer)
    {
        _loop = loop;
    }

    protected override bool OnLoopThread => _loop.OnLoopThread;

    protected override void MarkDirty() => _loop.MarkDirty(this);

    protected override void PostToLoop() => _loop.Post(this);

    /// <summary>Loop thread: epoll reported <paramref name="events"/>.</summary>
    public void OnEvents(uint events)
    {
        if ((events & Native.EPOLLOUT) != 0 && !_closed)
        {
            Flush();
        }
        if ((events & (Native.EPOLLIN | Native.EPOLLHUP | Native.EPOLLERR | Native.EPOLLRDHUP)) != 0 && !_closed)
        {
            OnReadable();
        }
    }

    /// <summary>Loop thread: writes what the queue holds with writev until done or the socket is full.</summary>
    public override void Flush()
    {
        if (_closed)
        {
            return;
        }
        OutboundQueue output = Handler.Output;
        if (!_sending)
        {
            if (!output.TryBeginSend())
            {
                if (Handler.IsFinished && output.IsCompleted)
                {
                    HalfClose();
                }
                return;
            }
            _sending = true;
        }
        Native.IoVector* vectors = stackalloc Native.IoVector[MaxVectors];
        while (true)
        {
            ReadOnlySpan<OutboundSegment> segments = output.GetInFlight();
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
                // Pool blocks (owned or shared) live on the pinned object heap: their addresses are stable without fixed.
                int count = 0;
                while (count < segments.Length && count < MaxVectors && segments[count].IsPinned)
                {
                    ref byte data = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(segments[count].Array);
                    vectors[count].Base = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref data) + segments[count].Offset;
                    vectors[count].Length = (nuint)segments[count].Count;
                    count++;
                }
                written = Native.writev(Fd, vectors, count);
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
                Close(new SocketException(error));
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
        if (Handler.IsFinished && output.IsCompleted)
        {
            HalfClose();
        }
    }

    private void OnReadable()
    {
        byte[] buffer = _loop.ReceiveBuffer;
        int have = 0;
        if (!_spill.IsEmpty)
        {
            _spill.Bytes.CopyTo(buffer);
            have = _spill.Bytes.Length;
            _spill.Release(_loop.Pool);
        }
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
                _spill.Keep(buffer.AsSpan(0, have), _loop.Pool);
                return;
            }
            Close(received == 0 ? null : new SocketException(error)); // 0: the peer closed (FIN)
            return;
        }
        have += (int)received;
        if (Handler.IsFinished)
        {
            return; // after the close handshake: discard until the peer closes
        }
        OutboundQueue output = Handler.Output;
        output.Cork();
        int consumed;
        try
        {
            consumed = Handler.OnReceived(buffer.AsSpan(0, have));
        }
        catch (Exception exception)
        {
            output.Uncork();
            Close(exception);
            return;
        }
        if (output.Uncork())
        {
            _loop.MarkDirty(this);
        }
        if (Handler.IsFinished)
        {
            _loop.MarkDirty(this); // the flush half-closes once the close frame is out
            return;
        }
        _spill.Keep(buffer.AsSpan(consumed, have - consumed), _loop.Pool);
        if (output.BufferedBytes > _loop.MaxBuffered)
        {
            // Read-side backpressure: stop reading until the flush drains the replies (TCP slows the peer).
            SetInterest(_interest & ~Native.EPOLLIN);
        }
    }

    private void HalfClose()
    {
        if (!_halfClosed && Handler.Output.BufferedBytes == 0)
        {
            _halfClosed = true;
            Native.shutdown(Fd, Native.SHUT_WR);
        }
    }

    private void SetInterest(int interest)
    {
        if (interest != _interest && !_closed)
        {
            _interest = interest;
            _loop.Control(Native.EPOLL_CTL_MOD, Fd, interest, (ulong)Slot);
        }
    }

    protected override void Close(Exception? error)
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        _loop.Unregister(this);
        Native.close(Fd);
        _spill.Release(_loop.Pool);
        Handler.Output.Dispose();
        Handler.OnTransportClosed(error);
    }
}
