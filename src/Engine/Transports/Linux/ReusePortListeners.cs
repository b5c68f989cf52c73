using System.Net;
using System.Net.Sockets;

namespace Engine.Transports.Linux;

/// <summary>
/// One non-blocking listening socket per event loop on the same port (SO_REUSEPORT): the kernel spreads new
/// connections across the loops, so no loop hands accepted sockets to another.
/// </summary>
internal static class ReusePortListeners
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    public static Socket[] Open(IPEndPoint endPoint, int backlog, int count)
    {
        ListenerPortCheck.EnsureFree(endPoint);
        var listeners = new List<Socket>(count);
        try
        {
            IPEndPoint bound = endPoint;
            for (int i = 0; i < count; i++)
            {
                var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(listener);
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
                {
                    listener.DualMode = true;
                }
                // Linux copies TCP_NODELAY from the listener to every socket it accepts: set once here, it saves a
                // setsockopt per connection (a connection storm's accept path; checked by ReusePortListenersTests).
                listener.NoDelay = true;
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
                listener.Bind(bound);
                bound = (IPEndPoint)listener.LocalEndPoint!; // port 0: the others join the port the first one got
                listener.Listen(backlog);
                listener.Blocking = false;
            }
            return listeners.ToArray();
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
}
