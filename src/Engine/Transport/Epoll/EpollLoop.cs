using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Runtime;
using Engine.Transport.Linux;

namespace Engine.Transport.Epoll;

/// <summary>
/// One event loop: a thread blocked in epoll_wait over its own listener (SO_REUSEPORT: the kernel spreads accepts
/// across loops) and its connections. Everything a connection does happens here: reads into one receive buffer shared by
/// the loop, handler callbacks, and the flush of every connection that produced output, once per loop iteration (the
/// uWebSockets "cork"): many frames, many connections, one writev each, no thread-pool hop, no Task per operation.
/// Other threads reach a connection only through <see cref="Post"/> (an eventfd wakes the loop).
/// </summary>
internal sealed unsafe class EpollLoop : IEventLoop
{
    private const ulong ListenerToken = ulong.MaxValue;
    private const ulong WakeToken = ulong.MaxValue - 1;
    private const int MaxEvents = 256;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly Socket _listener;
    private readonly int _listenerFd;
    private readonly Action<EpollConnection> _onAccepted;
    private readonly ConcurrentQueue<EpollConnection> _posted = new();
    private readonly List<EpollConnection> _dirty = new();
    private readonly Thread _thread;
    private readonly SlotTable<EpollConnection> _slots = new();
    private int _wakePending;
    private volatile bool _stopping;
    private volatile bool _stopListening;
    private bool _listenerClosed;

    public EpollLoop(int index, Socket listener, BlockPool pool, long maxBuffered, Action<EpollConnection> onAccepted)
    {
        _listener = listener;
        _listenerFd = (int)listener.Handle;
        Pool = pool;
        MaxBuffered = maxBuffered;
        _onAccepted = onAccepted;
        // One receive buffer for all of this loop's connections: idle connections hold no buffer at all.
        ReceiveBuffer = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);
        _epoll = Check(Native.epoll_create1(Native.O_CLOEXEC), "epoll_create1");
        _wakeFd = Check(Native.eventfd(0, Native.O_NONBLOCK | Native.O_CLOEXEC), "eventfd");
        Control(Native.EPOLL_CTL_ADD, _wakeFd, Native.EPOLLIN, WakeToken);
        Control(Native.EPOLL_CTL_ADD, _listenerFd, Native.EPOLLIN, ListenerToken);
        _thread = new Thread(Run) { IsBackground = true, Name = $"ws-epoll-{index}" };
    }

    public BlockPool Pool { get; }

    public long MaxBuffered { get; }

    public byte[] ReceiveBuffer { get; }

    public int ThreadId { get; private set; }

    public bool OnLoopThread => Environment.CurrentManagedThreadId == ThreadId;

    public void Start() => _thread.Start();

    /// <summary>Stops accepting on this loop's listener (connections keep running).</summary>
    public void StopListening()
    {
        _stopListening = true;
        Wake();
    }

    /// <summary>Ends the loop thread; call after every connection has ended.</summary>
    public void Stop()
    {
        _stopping = true;
        Wake();
        _thread.Join();
        Native.close(_wakeFd);
        Native.close(_epoll);
    }

    /// <summary>Has the loop run <see cref="EpollConnection.OnPosted"/> for <paramref name="connection"/> soon. Any thread.</summary>
    public void Post(EpollConnection connection)
    {
        _posted.Enqueue(connection);
        Wake();
    }

    /// <summary>Queues a flush at the end of this loop iteration. Loop thread only.</summary>
    public void MarkDirty(EpollConnection connection) => _dirty.Add(connection);

    public void Control(int op, int fd, int events, ulong token)
    {
        var ev = new Native.EpollEvent { Events = (uint)events, Data = token };
        if (Native.epoll_ctl(_epoll, op, fd, &ev) != 0 && op != Native.EPOLL_CTL_DEL)
        {
            throw new SocketException(Native.LastError);
        }
    }

    public void Unregister(EpollConnection connection)
    {
        Control(Native.EPOLL_CTL_DEL, connection.Fd, 0, 0);
        _slots.Release(connection.Slot);
    }

    private void Wake()
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
        Native.EpollEvent* events = (Native.EpollEvent*)NativeMemory.Alloc((nuint)(MaxEvents * sizeof(Native.EpollEvent)));
        try
        {
            while (!_stopping)
            {
                int count = Native.epoll_wait(_epoll, events, MaxEvents, -1);
                if (count < 0)
                {
                    if (Native.LastError == Native.EINTR)
                    {
                        continue;
                    }
                    throw new SocketException(Native.LastError);
                }
                for (int i = 0; i < count; i++)
                {
                    ulong token = events[i].Data;
                    uint flags = events[i].Events;
                    if (token == WakeToken)
                    {
                        OnWake();
                    }
                    else if (token == ListenerToken)
                    {
                        AcceptAll();
                    }
                    else if (_slots[(int)token] is { } connection)
                    {
                        connection.OnEvents(flags);
                    }
                }
                FlushDirty();
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    private void OnWake()
    {
        ulong value;
        Native.read(_wakeFd, (byte*)&value, sizeof(ulong));
        Volatile.Write(ref _wakePending, 0);
        while (_posted.TryDequeue(out EpollConnection? connection))
        {
            connection.OnPosted();
        }
        if (_stopListening && !_listenerClosed)
        {
            _listenerClosed = true;
            Control(Native.EPOLL_CTL_DEL, _listenerFd, 0, 0);
            _listener.Dispose();
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
            int fd = Native.Accept(_listenerFd, nonBlocking: true, out PeerAddress peer);
            if (fd < 0)
            {
                return;
            }
            int slot = _slots.Reserve();
            var connection = new EpollConnection(this, fd, slot, peer);
            _slots.Set(slot, connection);
            Control(Native.EPOLL_CTL_ADD, fd, Native.EPOLLIN | Native.EPOLLRDHUP, (ulong)slot);
            _onAccepted(connection);
        }
    }

    private static int Check(int result, string call) => result >= 0 ? result : throw new SocketException(Native.LastError, call);
}
