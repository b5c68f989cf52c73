using System.Collections.Concurrent;
using System.Net.Sockets;
using Engine.Buffers;

namespace Engine.Transports.Linux;

/// <summary>
/// What the io_uring and epoll loops share: the thread, the SO_REUSEPORT listener and its accept burst, the slot table,
/// the connections to flush at the end of an iteration (the cork), and the mailbox through which other threads reach a
/// connection (a queue plus an eventfd that wakes the loop; one write per wake-up however many posts).
/// </summary>
internal abstract unsafe class LinuxEventLoop<TConnection> : IEventLoop
    where TConnection : LinuxConnection
{
    private readonly ConcurrentQueue<TConnection> _posted = new();
    private readonly List<TConnection> _dirty = new();
    private readonly Action<TConnection> _onAccepted;
    private readonly Action _resumeAccepting; // handed to the descriptor budget when it is spent
    private readonly Thread _thread;
    private int _wakePending;
    private volatile bool _stopping;
    private volatile bool _stopListening;
    private volatile bool _resumeRequested;
    private bool _acceptPaused;
    private bool _listenerClosed;

    /// <summary>
    /// Takes the loop's listener. <paramref name="wakeFlags"/> are the eventfd's flags: the epoll loop reads it itself
    /// (non-blocking), the io_uring loop keeps a read on it (blocking).
    /// </summary>
    protected LinuxEventLoop(string threadName, Socket listener, ConnectionBuffers buffers, int wakeFlags, Action<TConnection> onAccepted)
    {
        Listener = listener;
        ListenerFd = (int)listener.Handle;
        Buffers = buffers with { Loop = this };
        _onAccepted = onAccepted;
        _resumeAccepting = () =>
        {
            _resumeRequested = true;
            WakeUp();
        };
        WakeFd = Native.eventfd(0, wakeFlags);
        if (WakeFd < 0)
        {
            throw new SocketException(Native.LastError, "eventfd");
        }
        _thread = new Thread(() =>
        {
            ThreadId = Environment.CurrentManagedThreadId;
            ConnectionBuffers.StashOnThisThread();
            OnRunStarting();
            while (!_stopping)
            {
                RunOnce(-1);
            }
        })
        { IsBackground = true, Name = threadName };
    }

    /// <summary>What this loop's connections draw on (pool, segment lists, send limit) and, through it, this loop.</summary>
    public ConnectionBuffers Buffers { get; }

    public BlockPool Pool => Buffers.Pool;

    public long MaxBuffered => Buffers.MaxBuffered;

    public int ThreadId { get; private set; }

    public bool OnLoopThread => Environment.CurrentManagedThreadId == ThreadId;

    protected Socket Listener { get; }

    protected int ListenerFd { get; }

    protected int WakeFd { get; }

    protected SlotTable<TConnection> Slots { get; } = new();

    protected bool Stopping => _stopping;

    /// <summary>Whether <see cref="StopListening"/> has taken effect: the listener is closed.</summary>
    protected bool ListenerClosed => _listenerClosed;

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
        if ((_thread.ThreadState & ThreadState.Unstarted) == 0) // not started: RunOnCallingThread
        {
            _thread.Join();
        }
        Native.close(WakeFd);
        ReleaseResources();
    }

    /// <summary>Has the loop run <see cref="LinuxConnection.OnPosted"/> for <paramref name="connection"/> soon. Any thread.</summary>
    public void Post(TConnection connection)
    {
        _posted.Enqueue(connection);
        WakeUp();
    }

    /// <summary>Queues a flush at the end of this loop iteration. Loop thread only.</summary>
    public void MarkDirty(TConnection connection) => _dirty.Add(connection);

    /// <summary>
    /// Makes the calling thread this loop's thread instead of starting the loop's own (<see cref="Start"/> must then not
    /// be called): the caller runs the loop one <see cref="RunOnce"/> at a time. The transport fuzz target
    /// (fuzz/TransportTarget.cs) drives a loop this way, so that a run is deterministic.
    /// </summary>
    internal void RunOnCallingThread()
    {
        ThreadId = Environment.CurrentManagedThreadId;
        OnRunStarting();
    }

    /// <summary>Loop thread, before the first iteration.</summary>
    protected virtual void OnRunStarting()
    {
    }

    /// <summary>
    /// Loop thread: one iteration: waits up to <paramref name="timeoutMs"/> (-1: as long as it takes) for something to
    /// happen, handles it, then flushes the connections that produced output.
    /// </summary>
    internal abstract void RunOnce(int timeoutMs);

    /// <summary>Stop watching the listener before it is closed.</summary>
    protected abstract void StopWatchingListener();

    /// <summary>Makes the connection for an accepted descriptor, registered with the loop's kernel mechanism.</summary>
    protected abstract TConnection Open(int fd, int slot, PeerAddress peer);

    /// <summary>After the layers above have started the connection (they may already have closed it).</summary>
    protected virtual void OnStarted(TConnection connection)
    {
    }

    /// <summary>Frees what the loop holds besides the wake descriptor, after its thread has ended.</summary>
    protected abstract void ReleaseResources();

    /// <summary>Loop thread: the eventfd fired (its counter is already read): runs the posted work.</summary>
    protected void OnWoken()
    {
        Volatile.Write(ref _wakePending, 0);
        while (_posted.TryDequeue(out TConnection? connection))
        {
            connection.OnPosted();
        }
        if (_resumeRequested)
        {
            _resumeRequested = false;
            if (_acceptPaused && !_listenerClosed && !_stopListening)
            {
                _acceptPaused = false;
                ResumeListener();
            }
        }
        if (_stopListening && !_listenerClosed)
        {
            _listenerClosed = true;
            StopWatchingListener();
            Listener.Dispose();
        }
    }

    protected void FlushDirty()
    {
        // Index loop: a flush may fail a connection whose handler queues more work onto this list.
        for (int i = 0; i < _dirty.Count; i++)
        {
            _dirty[i].Flush();
        }
        _dirty.Clear();
    }

    /// <summary>
    /// Loop thread, when the listener is readable: accepts a bounded burst. False when it stopped accepting because the
    /// descriptor budget is spent (the listener is then unwatched until a connection anywhere closes) or the listener is
    /// closed; true when the listener is to be watched again.
    /// </summary>
    protected bool AcceptAll(bool nonBlocking)
    {
        if (_listenerClosed)
        {
            return false;
        }
        // Bounded per wake-up so one loop's accept burst does not starve its connections.
        for (int i = 0; i < 256; i++)
        {
            if (!Buffers.Descriptors.TryTake())
            {
                // Newcomers wait in the kernel's accept queue rather than being refused: in a storm a descriptor comes
                // back within milliseconds. Watching a listener we will not accept from would spin the loop.
                _acceptPaused = true;
                PauseListener();
                Buffers.Descriptors.WhenAvailable(_resumeAccepting);
                return false;
            }
            int fd = Native.Accept(ListenerFd, nonBlocking, out PeerAddress peer);
            if (fd < 0)
            {
                Buffers.Descriptors.Return();
                return true;
            }
            int slot = Slots.Reserve();
            if (slot < 0)
            {
                Native.close(fd); // 2^24 connections on this loop: past any open-files limit Linux allows by default
                Buffers.Descriptors.Return();
                return true;
            }
            TConnection connection = Open(fd, slot, peer);
            Slots.Set(slot, connection);
            _onAccepted(connection);
            OnStarted(connection);
        }
        return true;
    }

    /// <summary>Loop thread: accepts a burst unless accepting is paused at the descriptor budget.</summary>
    protected void AcceptUnlessPaused()
    {
        if (!_acceptPaused)
        {
            AcceptAll(nonBlocking: true);
        }
    }

    /// <summary>Loop thread: the budget is spent; stop being woken by the listener.</summary>
    protected abstract void PauseListener();

    /// <summary>Loop thread: the budget has room again; watch the listener as before the pause.</summary>
    protected abstract void ResumeListener();

    private void WakeUp()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Native.write(WakeFd, (byte*)&one, sizeof(ulong));
        }
    }
}
