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
/// The receive is single-shot, re-armed after each completion (after a batch that queued replies, a loop turn later,
/// once those are submitted: see <see cref="UringLoop.ArmAfterReplies"/>): backpressure is then simply not re-arming, where a
/// multishot receive keeps delivering until a cancel lands (the ping-flood test saw 1.5 MiB of pongs queue up against
/// a 64 KiB cap that way), and on the benchmark multishot was no faster.
/// </summary>
internal sealed unsafe class UringConnection : LinuxConnection
{
    // Loop thread only, so plain bit operations: five flags in one byte, not five bytes (the connection's fields would
    // spill into another 8 B: memory per idle connection).
    private Flags _flags;

    public UringConnection(UringLoop loop, int fd, int slot, PeerAddress peer)
        : base(fd, slot, peer, loop.Buffers)
    {
    }

    // The loop named by the buffers it gave this connection: no field of its own (memory per idle connection).
    private UringLoop Loop => Unsafe.As<UringLoop>(Buffers.Loop!);

    protected override bool OnLoopThread => Loop.OnLoopThread;

    protected override void MarkDirty() => Loop.MarkDirty(this);

    protected override void PostToLoop() => Loop.Post(this);

    /// <summary>Loop thread: puts a receive into the kernel unless one is there, the connection is closing, or backpressure paused reading.</summary>
    public void ArmReceive()
    {
        if (Receiving || Closed || ReadPaused)
        {
            return;
        }
        Loop.Ring.PrepareReceive(Fd, UringLoop.Token(Slot, UringLoop.Recv));
        Receiving = true;
    }

    /// <summary>Loop thread: the receive completed with <paramref name="result"/> bytes (or -errno, or 0 for the peer's FIN).</summary>
    public void OnReceiveCompleted(int result, uint flags)
    {
        Receiving = false;
        bool hasBuffer = (flags & CqeFBuffer) != 0;
        ushort bufferId = (ushort)(flags >> CqeBufferShift);
        if (Closed || result <= 0)
        {
            if (hasBuffer)
            {
                Loop.Ring.AddBuffer(bufferId);
            }
            if (Closed)
            {
                TryEnd();
            }
            else if (result is -ENOBUFS or -Native.EAGAIN or -Native.EINTR)
            {
                Loop.MarkStarved(this); // no free buffer (or nothing after all): re-armed once this batch is done
            }
            else
            {
                Close(result == 0 ? null : Native.ToSocketException(-result)); // 0: the peer closed (FIN)
            }
            return;
        }
        try
        {
            OnReceived(new Span<byte>(Loop.Ring.Buffer(bufferId), result));
        }
        finally
        {
            Loop.Ring.AddBuffer(bufferId);
        }
    }

    /// <summary>Loop thread: sends what the queue holds unless a send is already in the kernel (its completion goes on).</summary>
    public override void Flush()
    {
        if (Closed || SendInKernel)
        {
            return;
        }
        if (!Sending)
        {
            if (!Output.TryBeginSend())
            {
                TryHalfClose();
                return;
            }
            Sending = true;
        }
        SubmitSend(Output.GetInFlight());
    }

    /// <summary>Loop thread: the send completed with <paramref name="result"/> bytes written (or -errno).</summary>
    public void OnSendCompleted(int result)
    {
        SendInKernel = false;
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
        Sending = false;
        if (ReadPaused)
        {
            // Drained: resume reading that backpressure paused.
            ReadPaused = false;
            ArmReceive();
        }
        TryHalfClose();
    }

    private void OnReceived(Span<byte> data)
    {
        ReceiveOutcome? outcome = DeliverRead(PrependKept(data, Loop.Scratch));
        if (outcome is null)
        {
            return; // closed during the batch
        }
        if ((outcome.Value & ReceiveOutcome.OverLimit) != 0 && (outcome.Value & ReceiveOutcome.Finished) == 0)
        {
            ReadPaused = true; // no receive until the sends drain the replies (TCP slows the peer)
            return;
        }
        if ((outcome.Value & ReceiveOutcome.FlushNeeded) != 0)
        {
            Loop.ArmAfterReplies(this); // once the replies are in the kernel (see UringLoop.RunOnce)
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
            SendMemory = new SendLists.TransportMemory(GCHandle.ToIntPtr(pin), IsPin: true);
            Loop.Ring.PrepareSend(Fd, (byte*)pin.AddrOfPinnedObject() + segments[0].Offset, segments[0].Count, token);
        }
        else if (segments.Length == 1 || !segments[1].IsPinned)
        {
            Loop.Ring.PrepareSend(Fd, AddressOf(segments[0]), segments[0].Count, token);
        }
        else
        {
            MsgHdr* message = Loop.RentSendBlock();
            SendMemory = new SendLists.TransportMemory((nint)message, IsPin: false);
            var vectors = (Native.IoVector*)(message + 1);
            *message = default;
            message->Iov = vectors;
            message->IovLength = (nuint)GatherPinned(segments, vectors, UringLoop.VectorLimit);
            Loop.Ring.PrepareSendMessage(Fd, message, token);
        }
        SendInKernel = true;
    }

    // What the send in the kernel holds, if anything (a pinning handle for a large frame off the pinned heap, or a rented
    // msghdr block for a gather), goes back once the kernel is done with it.
    private void ReleaseSendMemory()
    {
        if (!HoldsLists)
        {
            return; // nothing in flight, so nothing held
        }
        SendLists.TransportMemory memory = SendMemory;
        if (memory.Address == 0)
        {
            return;
        }
        SendMemory = default;
        if (memory.IsPin)
        {
            GCHandle.FromIntPtr(memory.Address).Free();
        }
        else
        {
            Loop.ReturnSendBlock((MsgHdr*)memory.Address);
        }
    }

    protected override void Close(Exception? error)
    {
        if (!TryMarkClosed())
        {
            return;
        }
        if (error is not null)
        {
            Loop.KeepCloseError(this, error);
        }
        if (Receiving)
        {
            Loop.Cancel(UringLoop.Token(Slot, UringLoop.Recv));
        }
        if (SendInKernel)
        {
            Loop.Cancel(UringLoop.Token(Slot, UringLoop.Send));
        }
        // The descriptor stays open until nothing of ours refers to it: a receive or send prepared in this turn is
        // submitted by descriptor number, and closing now would let the next accept reuse that number for another
        // connection (a fault test caught a fresh connection closed that way).
        TryEnd();
    }

    /// <summary>Once nothing is left in the kernel: the slot, the kept bytes and the queue's buffers go back.</summary>
    private void TryEnd()
    {
        if (Ended || Receiving || SendInKernel)
        {
            return;
        }
        Ended = true;
        CloseDescriptor();
        Loop.Release(this);
        ReleaseKept();
        Output.Dispose();
        Handler.OnTransportClosed(Loop.TakeCloseError(this));
    }

    private bool Receiving { get => Has(Flags.Receiving); set => Set(Flags.Receiving, value); }

    private bool SendInKernel { get => Has(Flags.SendInKernel); set => Set(Flags.SendInKernel, value); }

    private bool Sending { get => Has(Flags.Sending); set => Set(Flags.Sending, value); }

    private bool ReadPaused { get => Has(Flags.ReadPaused); set => Set(Flags.ReadPaused, value); }

    private bool Ended { get => Has(Flags.Ended); set => Set(Flags.Ended, value); }

    private bool Has(Flags flag) => (_flags & flag) != 0;

    private void Set(Flags flag, bool on) => _flags = on ? _flags | flag : _flags & ~flag;

    [Flags]
    private enum Flags : byte
    {
        Receiving = 1, // a receive is in the kernel
        SendInKernel = 2, // a send is in the kernel
        Sending = 4, // a send run is begun (TryBeginSend) and not yet drained
        ReadPaused = 8, // backpressure: no receive until the sends drain
        Ended = 16, // the descriptor is closed; the slot, kept bytes and queue buffers went back
    }
}
