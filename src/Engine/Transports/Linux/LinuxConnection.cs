using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Transports.Linux;

/// <summary>
/// What a connection of the io_uring and epoll loops shares: its descriptor and slot, the peer's address, how other
/// threads reach it (a flush or an abort is posted to the loop, which runs <see cref="OnPosted"/> on its own thread),
/// the bytes kept between reads, and the gather of queued segments into an I/O vector. Loop thread only, except
/// <see cref="RequestFlush"/> and <see cref="Abort"/>.
/// </summary>
internal abstract unsafe class LinuxConnection : TransportConnection
{
    private const int Posted = 1;
    private const int AbortRequested = 2;
    private const int ClosedBit = 4;
    private const int HalfClosedBit = 8;
    private const int SlotShift = 8; // the slot lives in the bits above the flags, set once (SlotTable.MaxSlots: 2^24)

    private readonly PeerAddress _peer;
    private byte[]? _kept; // see ReceiveSpill
    // Mail from other threads, as bits: a flush or an abort posted to the loop; and the connection's ends, closed and
    // half-closed; and above them the connection's slot, which never changes (one int, not three ints and two flags:
    // 12 B per idle connection with the padding they took).
    private int _mail;

    protected LinuxConnection(int fd, int slot, PeerAddress peer, ConnectionBuffers buffers)
        : base(buffers)
    {
        Fd = fd;
        _mail = slot << SlotShift;
        _peer = peer;
    }

    public int Fd { get; }

    public int Slot => (int)((uint)_mail >> SlotShift); // the flag bits below change; the slot bits never do

    /// <summary>Made on each use, not kept: most connections are never asked, and an IPEndPoint costs more than the raw address.</summary>
    public override EndPoint? RemoteEndPoint => _peer.ToEndPoint();

    /// <summary>Whether bytes of an earlier read are kept for the next (none once the connection has ended: the fuzz target checks).</summary>
    internal bool HoldsKeptBytes => _kept is not null;

    /// <summary>Set once the connection is dropped: nothing more is read or sent. Written on the loop thread only.</summary>
    protected bool Closed => (Volatile.Read(ref _mail) & ClosedBit) != 0;

    /// <summary>Whether the caller is this connection's loop thread.</summary>
    protected abstract bool OnLoopThread { get; }

    public override void RequestFlush()
    {
        if (OnLoopThread)
        {
            MarkDirty();
        }
        else if ((Interlocked.Or(ref _mail, Posted) & Posted) == 0)
        {
            PostToLoop();
        }
    }

    public override void Abort()
    {
        if ((Interlocked.Or(ref _mail, AbortRequested) & AbortRequested) == 0)
        {
            if (OnLoopThread)
            {
                Close(null);
            }
            else
            {
                Interlocked.Or(ref _mail, Posted);
                PostToLoop();
            }
        }
    }

    /// <summary>Loop thread: a posted flush or abort.</summary>
    public void OnPosted()
    {
        if ((Interlocked.And(ref _mail, ~Posted) & AbortRequested) != 0)
        {
            Close(null);
        }
        else
        {
            Flush();
        }
    }

    /// <summary>Loop thread: sends what the queue holds.</summary>
    public abstract void Flush();

    /// <summary>Loop thread: queues a flush at the end of this loop iteration.</summary>
    protected abstract void MarkDirty();

    /// <summary>Any thread: has the loop run <see cref="OnPosted"/> soon.</summary>
    protected abstract void PostToLoop();

    /// <summary>Loop thread: drops the connection; <paramref name="error"/> is null for an orderly end.</summary>
    protected abstract void Close(Exception? error);

    /// <summary>Marks the connection closed; false when it already was.</summary>
    protected bool TryMarkClosed() => (Interlocked.Or(ref _mail, ClosedBit) & ClosedBit) == 0;

    protected sealed override bool MarkHalfClosed() => (Interlocked.Or(ref _mail, HalfClosedBit) & HalfClosedBit) == 0;

    /// <summary>
    /// Puts the bytes kept from the last read in front of <paramref name="read"/>, in <paramref name="scratch"/> (large
    /// enough for a block plus a read: what is kept is at most a request head or a frame header). The kept bytes go back.
    /// </summary>
    protected Span<byte> PrependKept(Span<byte> read, byte[] scratch)
    {
        if (_kept is null)
        {
            return read;
        }
        ReadOnlySpan<byte> kept = ReceiveSpill.Bytes(_kept);
        kept.CopyTo(scratch);
        read.CopyTo(scratch.AsSpan(kept.Length));
        int length = kept.Length + read.Length;
        ReceiveSpill.Release(ref _kept, Pool);
        return scratch.AsSpan(0, length);
    }

    /// <summary>Moves the kept bytes to the front of <paramref name="buffer"/> (a read goes behind them); returns their length.</summary>
    protected int TakeKept(Span<byte> buffer)
    {
        ReadOnlySpan<byte> kept = ReceiveSpill.Bytes(_kept);
        if (kept.IsEmpty)
        {
            return 0;
        }
        int length = kept.Length;
        kept.CopyTo(buffer);
        ReceiveSpill.Release(ref _kept, Pool);
        return length;
    }

    /// <summary>
    /// Hands one read (kept bytes in front) to the session and keeps what it did not consume. Schedules the flush the
    /// batch needs. Returns null when the connection closed during the batch (the session failed or aborted it).
    /// </summary>
    protected ReceiveOutcome? DeliverRead(Span<byte> data)
    {
        ReceiveOutcome outcome;
        int consumed;
        try
        {
            outcome = Deliver(data, out consumed);
        }
        catch (Exception exception)
        {
            Close(exception);
            return null;
        }
        if (Closed)
        {
            return null; // aborted from a callback
        }
        if ((outcome & (ReceiveOutcome.FlushNeeded | ReceiveOutcome.Finished)) != 0)
        {
            MarkDirty(); // a finished connection's flush half-closes once the close frame is out
        }
        ReceiveSpill.Keep(ref _kept, data.Slice(consumed), Pool);
        return outcome;
    }

    /// <summary>Keeps <paramref name="rest"/> for the next read (a read that returned nothing new).</summary>
    protected void Keep(ReadOnlySpan<byte> rest) => ReceiveSpill.Keep(ref _kept, rest, Pool);

    /// <summary>Gives back the kept bytes; the connection is over.</summary>
    protected void ReleaseKept() => ReceiveSpill.Release(ref _kept, Pool);

    /// <summary>
    /// Fills <paramref name="vectors"/> with the leading pinned segments (at most <paramref name="max"/>) and returns how
    /// many: pool blocks, owned or shared, live on the pinned object heap, so their addresses are stable as they are.
    /// </summary>
    protected static int GatherPinned(ReadOnlySpan<SendSegment> segments, Native.IoVector* vectors, int max)
    {
        int count = 0;
        while (count < segments.Length && count < max && segments[count].IsPinned)
        {
            vectors[count].Base = AddressOf(segments[count]);
            vectors[count].Length = (nuint)segments[count].Count;
            count++;
        }
        return count;
    }

    /// <summary>The address of a pinned segment's first byte.</summary>
    protected static byte* AddressOf(in SendSegment segment)
    {
        ref byte data = ref MemoryMarshal.GetArrayDataReference(segment.Array);
        return (byte*)Unsafe.AsPointer(ref data) + segment.Offset;
    }

    protected override void ShutdownSend() => Native.shutdown(Fd, Native.SHUT_WR);

    /// <summary>Closes the descriptor and gives it back to the server's budget; once, when nothing of ours refers to it.</summary>
    protected void CloseDescriptor()
    {
        Native.close(Fd);
        Output.Buffers.Descriptors.Return();
    }
}
