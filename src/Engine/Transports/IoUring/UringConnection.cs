using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Transports.Linux;
using static Engine.Transports.IoUring.UringNative;

namespace Engine.Transports.IoUring;

/// <summary>
/// A connection owned by one <see cref="UringLoop"/>, on the loop thread only. It keeps one receive in the kernel
/// (which takes a shared buffer only when data arrives, so an idle connection holds none) and at most one send (the
/// queue's in-flight segments, gathered). Between receives it holds no buffer, except the few bytes of a partial frame
/// header or request head. Closing cancels what is still in the kernel; the queue's buffers go back to the pool only
/// once the kernel has let go of them.
/// The receive is single-shot, re-armed after each completion: backpressure is then simply not re-arming, where a
/// multishot receive keeps delivering until a cancel lands (the ping-flood test saw 1.5 MiB of pongs queue up against
/// a 64 KiB cap that way), and on the benchmark multishot was no faster.
/// </summary>
internal sealed unsafe class UringConnection : LinuxConnection
{
    private readonly UringLoop _loop;
    // What the send in the kernel holds, if anything: a pinning handle (a large frame off the pinned heap) or a rented
    // msghdr block (a gather). Never both, so one field (memory per idle connection).
    private nint _sendMemory;
    private bool _sendMemoryIsPin;
    private Exception? _closeError;
    private bool _receiving;
    private bool _sendInKernel;
    private bool _sending;
    private bool _readPaused;
    private bool _ended;

    public UringConnection(UringLoop loop, int fd, int slot, PeerAddress peer)
        : base(fd, slot, peer, loop.Buffers)
    {
        _loop = loop;
    }

    protected override bool OnLoopThread => _loop.OnLoopThread;

    protected override void MarkDirty() => _loop.MarkDirty(this);

    protected override void PostToLoop() => _loop.Post(this);

    /// <summary>Loop thread: puts a receive into the kernel unless one is there, the connection is closing, or backpressure paused reading.</summary>
    public void ArmReceive()
    {
        if (_receiving || Closed || _readPaused)
        {
            return;
        }
        _loop.Ring.PrepareReceive(Fd, UringLoop.Token(Slot, UringLoop.Recv));
        _receiving = true;
    }

    /// <summary>Loop thread: the receive completed with <paramref name="result"/> bytes (or -errno, or 0 for the peer's FIN).</summary>
    public void OnReceiveCompleted(int result, uint flags)
    {
        _receiving = false;
        bool hasBuffer = (flags & CqeFBuffer) != 0;
        ushort bufferId = (ushort)(flags >> CqeBufferShift);
        if (Closed || result <= 0)
        {
            if (hasBuffer)
            {
                _loop.Ring.AddBuffer(bufferId);
            }
            if (Closed)
            {
                TryEnd();
            }
            else if (result is -ENOBUFS or -Native.EAGAIN or -Native.EINTR)
            {
                _loop.MarkStarved(this); // no free buffer (or nothing after all): re-armed once this batch is done
            }
            else
            {
                Close(result == 0 ? null : Native.ToSocketException(-result)); // 0: the peer closed (FIN)
            }
            return;
        }
        try
        {
            OnReceived(new Span<byte>(_loop.Ring.Buffer(bufferId), result));
        }
        finally
        {
            _loop.Ring.AddBuffer(bufferId);
        }
    }

    /// <summary>Loop thread: sends what the queue holds unless a send is already in the kernel (its completion goes on).</summary>
    public override void Flush()
    {
        if (Closed || _sendInKernel)
        {
            return;
        }
        if (!_sending)
        {
            if (!Output.TryBeginSend())
            {
                TryHalfClose();
                return;
            }
            _sending = true;
        }
        SubmitSend(Output.GetInFlight());
    }

    /// <summary>Loop thread: the send completed with <paramref name="result"/> bytes written (or -errno).</summary>
    public void OnSendCompleted(int result)
    {
        _sendInKernel = false;
        ReleaseSendMemory();
        if (Closed)
        {
            TryEnd();
            return;
        }
        SendQueue output = Output;
        if (result < 0)
        {
            if (-result is Native.EINTR or Native.EAGAIN)
            {
                SubmitSend(output.GetInFlight());
                return;
            }
            Close(Native.ToSocketException(-result));
            return;
        }
        if (!output.OnSent(result) || output.TryContinueSend())
        {
            SubmitSend(output.GetInFlight());
            return;
        }
        _sending = false;
        if (_readPaused)
        {
            // Drained: resume reading that backpressure paused.
            _readPaused = false;
            ArmReceive();
        }
        TryHalfClose();
    }

    private void OnReceived(Span<byte> data)
    {
        ReceiveOutcome? outcome = DeliverRead(PrependKept(data, _loop.Scratch));
        if (outcome is null)
        {
            return; // closed during the batch
        }
        if ((outcome.Value & ReceiveOutcome.OverLimit) != 0 && (outcome.Value & ReceiveOutcome.Finished) == 0)
        {
            _readPaused = true; // no receive until the sends drain the replies (TCP slows the peer)
            return;
        }
        ArmReceive(); // after the close handshake too: reads are discarded until the peer closes
    }

    private void SubmitSend(ReadOnlySpan<SendSegment> segments)
    {
        ulong token = UringLoop.Token(Slot, UringLoop.Send);
        if (!segments[0].IsPinned)
        {
            // A large frame in a pooled array off the pinned heap: pinned until the kernel is done with it, sent alone.
            var pin = GCHandle.Alloc(segments[0].Array, GCHandleType.Pinned);
            _sendMemory = GCHandle.ToIntPtr(pin);
            _sendMemoryIsPin = true;
            _loop.Ring.PrepareSend(Fd, (byte*)pin.AddrOfPinnedObject() + segments[0].Offset, segments[0].Count, token);
        }
        else if (segments.Length == 1 || !segments[1].IsPinned)
        {
            _loop.Ring.PrepareSend(Fd, AddressOf(segments[0]), segments[0].Count, token);
        }
        else
        {
            MsgHdr* message = _loop.RentSendBlock();
            _sendMemory = (nint)message;
            _sendMemoryIsPin = false;
            var vectors = (Native.IoVector*)(message + 1);
            *message = default;
            message->Iov = vectors;
            message->IovLength = (nuint)GatherPinned(segments, vectors, UringLoop.VectorLimit);
            _loop.Ring.PrepareSendMessage(Fd, message, token);
        }
        _sendInKernel = true;
    }

    private void ReleaseSendMemory()
    {
        nint memory = _sendMemory;
        if (memory == 0)
        {
            return;
        }
        _sendMemory = 0;
        if (_sendMemoryIsPin)
        {
            GCHandle.FromIntPtr(memory).Free();
        }
        else
        {
            _loop.ReturnSendBlock((MsgHdr*)memory);
        }
    }

    protected override void Close(Exception? error)
    {
        if (!TryMarkClosed())
        {
            return;
        }
        _closeError = error;
        if (_receiving)
        {
            _loop.Cancel(UringLoop.Token(Slot, UringLoop.Recv));
        }
        if (_sendInKernel)
        {
            _loop.Cancel(UringLoop.Token(Slot, UringLoop.Send));
        }
        // The descriptor stays open until nothing of ours refers to it: a receive or send prepared in this turn is
        // submitted by descriptor number, and closing now would let the next accept reuse that number for another
        // connection (a fault test caught a fresh connection closed that way).
        TryEnd();
    }

    /// <summary>Once nothing is left in the kernel: the slot, the kept bytes and the queue's buffers go back.</summary>
    private void TryEnd()
    {
        if (_ended || _receiving || _sendInKernel)
        {
            return;
        }
        _ended = true;
        CloseDescriptor();
        _loop.Release(this);
        ReleaseKept();
        Output.Dispose();
        Handler.OnTransportClosed(_closeError);
    }
}
