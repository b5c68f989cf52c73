using System.Net;
using System.Net.Sockets;

namespace Engine.Transports.Linux;

/// <summary>The Linux transports: one event loop per core, each with its own SO_REUSEPORT listener.</summary>
internal sealed class LoopTransport
{
    private readonly IEventLoop[] _loops;

    private LoopTransport(IEventLoop[] loops, IPEndPoint localEndPoint, TransportKind kind)
    {
        _loops = loops;
        LocalEndPoint = localEndPoint;
        Kind = kind;
    }

    public IPEndPoint LocalEndPoint { get; }

    public TransportKind Kind { get; }

    public IReadOnlyList<IEventLoop> EventLoops => _loops;

    public static LoopTransport Start(IPEndPoint endPoint, int backlog, int loopCount, TransportKind kind, Func<int, Socket, IEventLoop> createLoop)
    {
        Socket[] listeners = ReusePortListeners.Open(endPoint, backlog, loopCount);
        var loops = new IEventLoop[loopCount];
        try
        {
            for (int i = 0; i < loopCount; i++)
            {
                loops[i] = createLoop(i, listeners[i]);
            }
        }
        catch
        {
            foreach (Socket listener in listeners)
            {
                listener.Dispose();
            }
            throw;
        }
        foreach (IEventLoop loop in loops)
        {
            loop.Start();
        }
        return new LoopTransport(loops, (IPEndPoint)listeners[0].LocalEndPoint!, kind);
    }

    public void StopListening()
    {
        foreach (IEventLoop loop in _loops)
        {
            loop.StopListening();
        }
    }

    public void Stop()
    {
        foreach (IEventLoop loop in _loops)
        {
            loop.Stop();
        }
    }
}
