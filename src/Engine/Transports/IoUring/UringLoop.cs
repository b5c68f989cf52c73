using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Transports.Linux;
using static Engine.Transports.IoUring.UringNative;

namespace Engine.Transports.IoUring;

/// <summary>
/// One event loop on io_uring: a thread that owns a <see cref="Ring"/>, its own SO_REUSEPORT listener and its
/// connections. Each iteration is one system call: it submits every receive re-armed and every send prepared since the
/// last one (the flush of all connections that produced output, as in the epoll loop's cork), then sleeps until
/// something completes. On this class of machine a bare system call costs about a microsecond, so the epoll loop's
/// read + writev per message was most of the server's own CPU time; here a batch of sixty messages shares one.
/// Other threads reach a connection only through <see cref="LinuxEventLoop{T}.Post"/> (an eventfd the ring keeps a read on).
/// </summary>
internal sealed unsafe class UringLoop : LinuxEventLoop<UringConnection>
{
    // User data: the slot in the high bits, what completed in the low byte.
    public const ulong Recv = 1;
    public const ulong Send = 2;
    private const ulong Listen = 3;
    private const ulong Wake = 4;
    private const ulong Cancelled = 5;

    private const int MaxVectors = 64;

    private static readonly Lazy<bool> Supported = new(static () =>
    {
        if (!Native.IsSupported)
        {
            return false;
        }
        try
        {
            new Ring(8, 2, 4096).Dispose();
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    });

    private readonly ulong* _wakeValue;
    private readonly List<UringConnection> _starved = new();
    // Connections whose receive batch queued replies: their next receive goes in a turn later (see RunOnce).
    private readonly Queue<UringConnection> _answered = new();
    private readonly Stack<nint> _sendBlocks = new();
    // Errors of closing connections still waiting for the kernel (see KeepCloseError); made at the first.
    private Dictionary<UringConnection, Exception>? _closeErrors;

    public UringLoop(int index, Socket listener, ConnectionBuffers buffers, int receiveBuffers, Action<UringConnection> onAccepted)
        : base($"ws-uring-{index}", listener, buffers, Native.O_CLOEXEC /* blocking, like the sockets: the ring waits on it */, onAccepted)
    {
        // 4,096 submissions per system call at most; receive buffers of 16 KiB shared by all connections (128: 2 MiB).
        Ring = new Ring(4096, receiveBuffers, 16 * 1024);
        // Received bytes a connection kept, followed by one buffer's worth of new ones.
        Scratch = GC.AllocateUninitializedArray<byte>(buffers.Pool.BlockSize + Ring.BufferSize, pinned: true);
        _wakeValue = (ulong*)NativeMemory.Alloc(sizeof(ulong));
    }

    /// <summary>Whether this kernel gives us what the transport needs (io_uring with provided-buffer rings, 6.1+; containers often forbid io_uring).</summary>
    public static bool IsSupported => Supported.Value;

    public static int VectorLimit => MaxVectors;

    public Ring Ring { get; }

    /// <summary>Where a connection's kept bytes and a new buffer are joined (loop thread only).</summary>
    public byte[] Scratch { get; }

    /// <summary>Receives that found no free buffer and were re-armed (loop thread writes; tests read).</summary>
    public long StarvedReceives { get; private set; }

    public static ulong Token(int slot, ulong kind) => ((ulong)slot << 8) | kind;

    /// <summary>Loop thread: <paramref name="connection"/>'s receive batch queued replies; its next receive goes in after they are submitted.</summary>
    public void ArmAfterReplies(UringConnection connection) => _answered.Enqueue(connection);

    /// <summary>A receive found every buffer taken; it is re-armed once this batch has given them back.</summary>
    public void MarkStarved(UringConnection connection)
    {
        _starved.Add(connection);
        StarvedReceives++;
    }

    /// <summary>Asks the kernel to cancel the operation with <paramref name="token"/>; a successful cancel posts no completion of its own.</summary>
    public void Cancel(ulong token) => Ring.PrepareCancel(token, Cancelled);

    /// <summary>A native block holding a msghdr and its iovec array, for one send of several segments.</summary>
    public MsgHdr* RentSendBlock()
    {
        if (_sendBlocks.TryPop(out nint block))
        {
            return (MsgHdr*)block;
        }
        return (MsgHdr*)NativeMemory.Alloc((nuint)(sizeof(MsgHdr) + (MaxVectors * sizeof(Native.IoVector))));
    }

    public void ReturnSendBlock(MsgHdr* block) => _sendBlocks.Push((nint)block);

    /// <summary>
    /// Keeps the error a connection closed with until it ends (once the kernel has let go of its receive and send).
    /// Here, not in a field of every connection (memory per idle connection): only a connection that fails needs it.
    /// </summary>
    public void KeepCloseError(UringConnection connection, Exception error) => (_closeErrors ??= new())[connection] = error;

    /// <summary>The error <paramref name="connection"/> closed with, if any, given up as it ends.</summary>
    public Exception? TakeCloseError(UringConnection connection) =>
        _closeErrors is { Count: > 0 } errors && errors.Remove(connection, out Exception? error) ? error : null;

    /// <summary>The connection has no operation left in the kernel: its slot may be reused.</summary>
    public void Release(UringConnection connection) => Slots.Release(connection.Slot);

    protected override void OnRunStarting()
    {
        Ring.Enable();
        ArmWake();
        Ring.PreparePollIn(ListenerFd, Listen);
    }

    internal override void RunOnce(int timeoutMs)
    {
        Ring.PublishBuffers();
        // With receives waiting to be armed the call only submits: a reply's send that the peer's full window parks must
        // not keep the loop (and so that connection's receive) waiting, or a peer that reads only once its own sends
        // complete would wait for ever. A send that completes at once (the usual case) returns a waiting call at once
        // anyway, so this costs no extra call.
        Ring.SubmitAndWait(_answered.Count > 0 ? 0u : 1u, timeoutMs < 0 ? -1 : timeoutMs * 1_000_000L);
        // The receives of connections that answered: their replies went out in the call just made, and the peer has
        // had that long to send more. Armed together with the replies, nearly every such receive of a request/response
        // peer found nothing yet and parked on a poll, which the kernel must later wake and retry (a failed receive, a
        // poll armed, a task run: per receive batch). The raw io_uring echo arms after its send completes; this is the
        // same point without waiting on the send. Such receives find data, so each takes a shared buffer at once: at
        // most half the buffers' worth go in per turn, or the rest would fail for want of one and come round again.
        for (int i = Math.Min(_answered.Count, Ring.BufferCount / 2); i > 0; i--)
        {
            _answered.Dequeue().ArmReceive();
        }
        while (Ring.TryTake(out ulong token, out int result, out uint flags))
        {
            Dispatch(token, result, flags);
        }
        if (_starved.Count > 0)
        {
            Ring.PublishBuffers();
            foreach (UringConnection connection in _starved)
            {
                connection.ArmReceive();
            }
            _starved.Clear();
        }
        FlushDirty();
    }

    protected override void StopWatchingListener() => Cancel(Listen);

    // The listener's poll is one-shot: while paused it is simply not armed again.
    protected override void PauseListener()
    {
    }

    protected override void ResumeListener() => Ring.PreparePollIn(ListenerFd, Listen);

    protected override UringConnection Open(int fd, int slot, PeerAddress peer) => new(this, fd, slot, peer);

    protected override void OnStarted(UringConnection connection) => connection.ArmReceive();

    protected override void ReleaseResources()
    {
        Ring.Dispose();
        NativeMemory.Free(_wakeValue);
        while (_sendBlocks.TryPop(out nint block))
        {
            NativeMemory.Free((void*)block);
        }
    }

    private void Dispatch(ulong token, int result, uint flags)
    {
        ulong kind = token & 0xFF;
        switch (kind)
        {
            case Recv:
            case Send:
                if (Slots[(int)(token >> 8)] is { } connection)
                {
                    if (kind == Recv)
                    {
                        connection.OnReceiveCompleted(result, flags);
                    }
                    else
                    {
                        connection.OnSendCompleted(result);
                    }
                }
                break;
            case Wake:
                OnWoken();
                if (!Stopping)
                {
                    ArmWake();
                }
                break;
            case Listen when !ListenerClosed:
                // Blocking sockets: io_uring never blocks on them, but waits for data instead of handing EAGAIN back.
                if (AcceptAll(nonBlocking: false))
                {
                    Ring.PreparePollIn(ListenerFd, Listen);
                }
                break;
        }
    }

    private void ArmWake() => Ring.PrepareRead(WakeFd, (byte*)_wakeValue, sizeof(ulong), Wake);
}
