using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Transports.Linux;

namespace Engine.Transports.Epoll;

/// <summary>
/// One event loop: a thread blocked in epoll_wait over its own listener (SO_REUSEPORT: the kernel spreads accepts
/// across loops) and its connections. Everything a connection does happens here: reads into one receive buffer shared by
/// the loop, handler callbacks, and the flush of every connection that produced output, once per loop iteration (the
/// uWebSockets "cork"): many frames, many connections, one writev each, no thread-pool hop, no Task per operation.
/// Other threads reach a connection only through <see cref="LinuxEventLoop{T}.Post"/> (an eventfd wakes the loop).
/// </summary>
internal sealed unsafe class EpollLoop : LinuxEventLoop<EpollConnection>
{
    private const ulong ListenerToken = ulong.MaxValue;
    private const ulong WakeToken = ulong.MaxValue - 1;
    private const int MaxEvents = 256;

    private readonly int _epoll;
    private readonly Native.EpollEvent* _events;
    private readonly List<EpollConnection> _fresh = new(MaxEvents); // accepted in the last iteration, not read yet

    public EpollLoop(int index, Socket listener, ConnectionBuffers buffers, Action<EpollConnection> onAccepted)
        : base($"ws-epoll-{index}", listener, buffers, Native.O_NONBLOCK | Native.O_CLOEXEC, onAccepted)
    {
        // One receive buffer for all of this loop's connections: idle connections hold no buffer at all.
        ReceiveBuffer = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);
        _events = (Native.EpollEvent*)NativeMemory.Alloc((nuint)(MaxEvents * sizeof(Native.EpollEvent)));
        _epoll = Check(Native.epoll_create1(Native.O_CLOEXEC), "epoll_create1");
        Control(Native.EPOLL_CTL_ADD, WakeFd, Native.EPOLLIN, WakeToken);
        Control(Native.EPOLL_CTL_ADD, ListenerFd, Native.EPOLLIN, ListenerToken);
    }

    public byte[] ReceiveBuffer { get; }

    public void Control(int op, int fd, int events, ulong token)
    {
        var ev = new Native.EpollEvent { Events = (uint)events, Data = token };
        if (Native.epoll_ctl(_epoll, op, fd, &ev) != 0 && op != Native.EPOLL_CTL_DEL)
        {
            throw new SocketException(Native.LastError);
        }
    }

    /// <summary>Frees the connection's slot; its descriptor is about to be closed, which takes it out of the epoll set
    /// (nothing else holds the descriptor), so no EPOLL_CTL_DEL: a system call less per connection.</summary>
    public void Unregister(EpollConnection connection) => Slots.Release(connection.Slot);

    internal override void RunOnce(int timeoutMs)
    {
        Native.EpollEvent* events = _events;
        int count = Native.epoll_wait(_epoll, events, MaxEvents, timeoutMs);
        if (count < 0)
        {
            if (Native.LastError == Native.EINTR)
            {
                return;
            }
            throw new SocketException(Native.LastError);
        }
        // A full batch means more descriptors are ready than one iteration takes. Level-triggered epoll hands them out
        // round-robin (a reported descriptor goes to the back of the ready list), so under overload the listener, and a
        // newcomer's first request, would each wait a whole pass over thousands of ready connections: a fresh client
        // then waits hundreds of milliseconds (the connection storm, bench/results/storm-epoll-fairness). So in a
        // saturated iteration newcomers go first: last iteration's newcomers are read before anything else, and the
        // listener is accepted from even when it was not among the batch. A quiet loop pays nothing for this.
        bool saturated = count == MaxEvents;
        if (saturated)
        {
            ReadFresh();
        }
        _fresh.Clear();
        bool listenerReported = false;
        for (int i = 0; i < count; i++)
        {
            ulong token = events[i].Data;
            uint flags = events[i].Events;
            if (token == WakeToken)
            {
                ulong value;
                Native.read(WakeFd, (byte*)&value, sizeof(ulong));
                OnWoken();
            }
            else if (token == ListenerToken)
            {
                listenerReported = true;
                AcceptAll(nonBlocking: true);
            }
            else if (Slots[(int)token] is { } connection)
            {
                connection.OnEvents(flags);
            }
        }
        if (saturated && !listenerReported)
        {
            AcceptUnlessPaused();
        }
        FlushDirty();
    }

    protected override void OnStarted(EpollConnection connection)
    {
        if (_fresh.Count < MaxEvents)
        {
            _fresh.Add(connection);
        }
    }

    // Reads each newcomer once, ahead of its turn in the ready list. Its request has usually arrived by now (it was sent
    // as soon as the TCP handshake completed, and a saturated iteration takes milliseconds); if not, epoll reports it.
    private void ReadFresh()
    {
        foreach (EpollConnection connection in _fresh)
        {
            connection.ReadAhead();
        }
    }

    protected override void StopWatchingListener() => Control(Native.EPOLL_CTL_DEL, ListenerFd, 0, 0);

    // Level-triggered: an unaccepted connection would wake the loop for ever, so the pause clears the interest.
    protected override void PauseListener() => Control(Native.EPOLL_CTL_MOD, ListenerFd, 0, ListenerToken);

    protected override void ResumeListener() => Control(Native.EPOLL_CTL_MOD, ListenerFd, Native.EPOLLIN, ListenerToken);

    protected override EpollConnection Open(int fd, int slot, PeerAddress peer)
    {
        var connection = new EpollConnection(this, fd, slot, peer);
        // Registered before the layers above start it: they may close it at once (shutdown), which unregisters.
        Control(Native.EPOLL_CTL_ADD, fd, Native.EPOLLIN | Native.EPOLLRDHUP, (ulong)slot);
        return connection;
    }

    protected override void ReleaseResources()
    {
        Native.close(_epoll);
        NativeMemory.Free(_events);
    }

    private static int Check(int result, string call) => result >= 0 ? result : throw new SocketException(Native.LastError, call);
}
