using System.Net;

namespace Engine.Transports.Linux;

/// <summary>
/// What a connection of the io_uring and epoll loops shares: its descriptor and slot, the peer's address, and how other
/// threads reach it (a flush or an abort is posted to the loop, which runs <see cref="OnPosted"/> on its own thread).
/// </summary>
internal abstract class LinuxConnection : TransportConnection
{
    private readonly PeerAddress _peer;
    private EndPoint? _remoteEndPoint;
    private int _posted;
    private int _abortRequested;

    protected LinuxConnection(int fd, int slot, PeerAddress peer)
    {
        Fd = fd;
        Slot = slot;
        _peer = peer;
    }

    public int Fd { get; }

    public int Slot { get; }

    /// <summary>Made on first use: most connections are never asked, and an IPEndPoint costs more than the raw address.</summary>
    public override EndPoint? RemoteEndPoint => _remoteEndPoint ??= _peer.ToEndPoint();

    protected ITransportHandler Handler { get; private set; } = null!;

    /// <summary>Whether the caller is this connection's loop thread.</summary>
    protected abstract bool OnLoopThread { get; }

    public override void Start(ITransportHandler handler) => Handler = handler;

    public override void RequestFlush()
    {
        if (OnLoopThread)
        {
            MarkDirty();
        }
        else if (Interlocked.Exchange(ref _posted, 1) == 0)
        {
            PostToLoop();
        }
    }

    public override void Abort()
    {
        if (Interlocked.Exchange(ref _abortRequested, 1) == 0)
        {
            if (OnLoopThread)
            {
                Close(null);
            }
            else
            {
                Interlocked.Exchange(ref _posted, 1);
                PostToLoop();
            }
        }
    }

    /// <summary>Loop thread: a posted flush or abort.</summary>
    public void OnPosted()
    {
        Volatile.Write(ref _posted, 0);
        if (Volatile.Read(ref _abortRequested) != 0)
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
}
