using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Runtime;
using Engine.Transport.Linux;
using static Engine.Transport.IoUring.UringNative;

namespace Engine.Transport.IoUring;

/// <summary>
/// One event loop on io_uring: a thread that owns a <see cref="Ring"/>, its own SO_REUSEPORT listener and its
/// connections. Each iteration is one system call: it submits every receive re-armed and every send prepared since the
/// last one (the flush of all connections that produced output, as in the epoll loop's cork), then sleeps until
/// something completes. On this class of machine a bare system call costs about a microsecond, so the epoll loop's
/// read + writev per message was most of the server's own CPU time; here a batch of sixty messages shares one.
/// Other threads reach a connection only through <see cref="Post"/> (an eventfd the ring keeps a read on).
/// </summary>
internal sealed unsafe class UringLoop : IEventLoop
{
    // User data: the slot in the high bits, what completed in the low byte.
    public const ulong Recv = 1;
    public const ulong Send = 2;
    private const ulong Listen = 3;
    private const ulong Wake = 4;
    private const ulong Cancelled = 5;

    private const byte SkipSuccess = 1 << 6;
    private const int MaxVectors = 64;

    private readonly Ring _ring;
    private readonly int _wakeFd;
    private readonly ulong* _wakeValue;
    private readonly Socket _listener;
    private readonly int _listenerFd;
    private readonly Action<UringConnection> _onAccepted;
    private readonly ConcurrentQueue<UringConnection> _posted = new();
    private readonly List<UringConnection> _dirty = new();
    private readonly List<UringConnection> _starved = new();
    private readonly SlotTable<UringConnection> _slots = new();
    private readonly Stack<nint> _sendBlocks = new();
    private readonly Thread _thread;
    private int _wakePending;
    private volatile bool _stopping;
    private volatile bool _stopListening;
    private bool _listenerClosed;

    public UringLoop(int index, Socket listener, BlockPool pool, long maxBuffered, int receiveBuffers, Action<UringConnection> onAccepted)
    {
        _listener = listener;
        _listenerFd = (int)listener.Handle;
        Pool = pool;
        MaxBuffered = maxBuffered;
        _onAccepted = onAccepted;
        // 4,096 submissions per system call at most; receive buffers of 16 KiB shared by all connections (128: 2 MiB).
        _ring = new Ring(4096, receiveBuffers, 16 * 1024);
        // Received bytes a connection kept, followed by one buffer's worth of new ones.
        Scratch = GC.AllocateUninitializedArray<byte>(pool.BlockSize + _ring.BufferSize, pinned: true);
        _wakeFd = Native.eventfd(0, Native.O_CLOEXEC); // blocking, like the sockets: the ring waits on it
        if (_wakeFd < 0)
        {
            _ring.Dispose();
            throw new SocketException(Native.LastError, "eventfd");
        }
        _wakeValue = (ulong*)NativeMemory.Alloc(sizeof(ulong));
        _thread = new Thread(Run) { IsBackground = true, Name = $"ws-uring-{index}" };
    }

    public BlockPool Pool { get; }

    public long MaxBuffered { get; }

    public Ring Ring => _ring;

    /// <summary>Where a connection's kept bytes and a new buffer are joined (loop thread only).</summary>
    public byte[] Scratch { get; }

    public int ThreadId { get; private set; }

    public bool OnLoopThread => Environment.CurrentManagedThreadId == ThreadId;

    public static int VectorLimit => MaxVectors;

    /// <summary>Whether this kernel gives us what the transport needs (io_uring with provided-buffer rings, 6.1+; containers often forbid io_uring).</summary>
    public static bool IsSupported => s_supported.Value;

    private static readonly Lazy<bool> s_supported = new(static () =>
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

    public void Start() => _thread.Start();

    /// <summary>Stops accepting on this loop's listener (connections keep running).</summary>
    public void StopListening()
    {
        _stopListening = true;
        WakeUp();
    }

    /// <summary>Ends the loop thread; call after every connection has ended.</summary>
    public void Stop()
    {
        _stopping = true;
        WakeUp();
        _thread.Join();
        _ring.Dispose();
        Native.close(_wakeFd);
        NativeMemory.Free(_wakeValue);
        while (_sendBlocks.TryPop(out nint block))
        {
            NativeMemory.Free((void*)block);
        }
    }

    /// <summary>Has the loop run <see cref="UringConnection.OnPosted"/> for <paramref name="connection"/> soon. Any thread.</summary>
    public void Post(UringConnection connection)
    {
        _posted.Enqueue(connection);
        WakeUp();
    }

    /// <summary>Queues a flush at the end of this loop iteration. Loop thread only.</summary>
    public void MarkDirty(UringConnection connection) => _dirty.Add(connection);

    /// <summary>A receive found every buffer taken; it is re-armed once this batch has given them back.</summary>
    public void MarkStarved(UringConnection connection)
    {
        _starved.Add(connection);
        StarvedReceives++;
    }

    /// <summary>Receives that found no free buffer and were re-armed (loop thread writes; tests read).</summary>
    public long StarvedReceives { get; private set; }

    public static ulong Token(int slot, ulong kind) => ((ulong)slot << 8) | kind;

    /// <summary>Asks the kernel to cancel the operation with <paramref name="token"/>; a successful cancel posts no completion of its own.</summary>
    public void Cancel(ulong token)
    {
        Sqe* sqe = _ring.NextSqe();
        sqe->Opcode = OpAsyncCancel;
        sqe->Fd = -1;
        sqe->Addr = token;
        sqe->Flags = SkipSuccess;
        sqe->UserData = Cancelled;
    }

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

    /// <summary>The connection has no operation left in the kernel: its slot may be reused.</summary>
    public void Release(UringConnection connection) => _slots.Release(connection.Slot);

    private void WakeUp()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Native.write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    private void Run()
    {
        ThreadId = Environment.CurrentManagedThreadId;
        _ring.Enable();
        ArmWake();
        ArmListen();
        while (!_stopping)
        {
            _ring.PublishBuffers();
            _ring.SubmitAndWait(1);
            while (_ring.TryPeek(out Cqe* cqe))
            {
                ulong token = cqe->UserData;
                int result = cqe->Res;
                uint flags = cqe->Flags;
                _ring.Consume();
                Dispatch(token, result, flags);
            }
            if (_starved.Count > 0)
            {
                _ring.PublishBuffers();
                foreach (UringConnection connection in _starved)
                {
                    connection.ArmReceive();
                }
                _starved.Clear();
            }
            FlushDirty();
        }
    }

    private void Dispatch(ulong token, int result, uint flags)
    {
        ulong kind = token & 0xFF;
        switch (kind)
        {
            case Recv:
            case Send:
                if (_slots[(int)(token >> 8)] is { } connection)
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
                OnWake();
                break;
            case Listen:
                if (!_listenerClosed)
                {
                    AcceptAll();
                    ArmListen();
                }
                break;
        }
    }

    private void ArmWake()
    {
        Sqe* sqe = _ring.NextSqe();
        sqe->Opcode = OpRead;
        sqe->Fd = _wakeFd;
        sqe->Addr = (ulong)_wakeValue;
        sqe->Len = sizeof(ulong);
        sqe->UserData = Wake;
    }

    private void ArmListen()
    {
        Sqe* sqe = _ring.NextSqe();
        sqe->Opcode = OpPollAdd;
        sqe->Fd = _listenerFd;
        sqe->OpFlags = PollIn;
        sqe->UserData = Listen;
    }

    private void OnWake()
    {
        Volatile.Write(ref _wakePending, 0);
        while (_posted.TryDequeue(out UringConnection? connection))
        {
            connection.OnPosted();
        }
        if (_stopListening && !_listenerClosed)
        {
            _listenerClosed = true;
            Cancel(Listen);
            _listener.Dispose();
        }
        if (!_stopping)
        {
            ArmWake();
        }
    }

    private void FlushDirty()
    {
        // Index loop: a flush may fail a connection whose handler queues more work onto this list.
        for (int i = 0; i < _dirty.Count; i++)
        {
            _dirty[i].Flush();
        }
        _dirty.Clear();
    }

    private void AcceptAll()
    {
        // Bounded per wake-up so one loop's accept burst does not starve its connections.
        for (int i = 0; i < 256; i++)
        {
            int fd = Native.Accept(_listenerFd, nonBlocking: false, out PeerAddress peer);
            if (fd < 0)
            {
                return;
            }
            int slot = _slots.Reserve();
            var connection = new UringConnection(this, fd, slot, peer);
            _slots.Set(slot, connection);
            _onAccepted(connection);
            connection.ArmReceive();
        }
    }
}
