using System.Net;
using System.Net.Sockets;
using Engine.Transports.Linux;

namespace Engine.Tests.Unit.Transports;

public sealed class ReusePortListenersTests
{
    /// <summary>
    /// The Linux loops set TCP_NODELAY on their listeners only and rely on the kernel copying it to each accepted socket
    /// (a system call less per connection): a kernel that stopped doing so would bring Nagle's delay back to every reply.
    /// </summary>
    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("::", "127.0.0.1")] // dual-stack listener, IPv4 peer
    [InlineData("::", "::1")]
    public void Accepted_sockets_have_Nagle_off_without_a_call_of_their_own(string listen, string connect)
    {
        if (!Native.IsSupported)
        {
            return; // the Linux loops: Linux on x86-64 only
        }
        Socket[] listeners = ReusePortListeners.Open(new IPEndPoint(IPAddress.Parse(listen), 0), 16, 2);
        try
        {
            int port = ((IPEndPoint)listeners[0].LocalEndPoint!).Port;
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            client.Connect(IPAddress.Parse(connect), port);
            int fd = -1;
            for (int attempt = 0; fd < 0 && attempt < 1000; attempt++)
            {
                // The kernel puts the connection in one listener's queue (SO_REUSEPORT); the connect has completed, so
                // it is there already, and the loop only covers the moment before the accept queue shows it.
                foreach (Socket listener in listeners)
                {
                    if (fd < 0)
                    {
                        fd = Native.Accept((int)listener.Handle, nonBlocking: true, out _);
                    }
                }
                if (fd < 0)
                {
                    Thread.Sleep(1);
                }
            }
            Assert.True(fd >= 0, "no listener had the connection");
            using var accepted = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
            Assert.True(accepted.NoDelay);
        }
        finally
        {
            foreach (Socket listener in listeners)
            {
                listener.Dispose();
            }
        }
    }
}
