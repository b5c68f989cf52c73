using System.Net;
using System.Net.Sockets;
using Engine.Runtime;

namespace Engine.Transport.Epoll;

/// <summary>The Linux transport: one <see cref="EpollLoop"/> per core, each with its own SO_REUSEPORT listener.</summary>
internal sealed class EpollTransport
{
    private readonly EpollLoop[] _loops;

    private EpollTransport(EpollLoop[] loops, IPEndPoint localEndPoint)
    {
        _loops = loops;
        LocalEndPoint = localEndPoint;
    }

    public IPEndPoint LocalEndPoint { get; }

    public static EpollTransport Start(IPEndPoint endPoint, int backlog, int loopCount, BlockPool pool, long maxBuffered, Action<EpollConnection> onAccepted)
    {
        var listeners = new List<Socket>();
        var loops = new EpollLoop[loopCount];
        try
        {
            IPEndPoint bound = endPoint;
            for (int i = 0; i < loopCount; i++)
            {
                var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(listener);
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
                {
                    listener.DualMode = true;
                }
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                // SO_REUSEPORT (15): every loop listens on the same port and the kernel balances new connections.
                listener.SetRawSocketOption(1, 15, BitConverter.GetBytes(1));
                listener.Bind(bound);
                bound = (IPEndPoint)listener.LocalEndPoint!;
                listener.Listen(backlog);
                listener.Blocking = false;
                loops[i] = new EpollLoop(i, listener, pool, maxBuffered, onAccepted);
            }
            foreach (EpollLoop loop in loops)
            {
                loop.Start();
            }
            return new EpollTransport(loops, bound);
        }
        catch
        {
            foreach (Socket listener in listeners)
            {
                listener.Dispose();
            }
            throw;
        }
    }

    public void StopListening()
    {
        foreach (EpollLoop loop in _loops)
        {
            loop.StopListening();
        }
    }

    public void Stop()
    {
        foreach (EpollLoop loop in _loops)
        {
            loop.Stop();
        }
    }
}
