using System.Net;
using System.Net.Sockets;

namespace Load.Servers;

/// <summary>
/// The ceiling check: echoes bytes back with no WebSocket work at all, on the same process model as the peers
/// (a process of its own, .NET async sockets on the thread pool). What the generator reaches against it is the most
/// it can measure; a WebSocket server well below that is measured, not the generator.
/// </summary>
internal static class TcpEchoServer
{
    public static async Task RunAsync(int port)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(4096);
        Console.WriteLine($"tcp echo listening on {IPAddress.Loopback}:{port}");
        while (true)
        {
            var socket = await listener.AcceptAsync();
            socket.NoDelay = true;
            _ = EchoAsync(socket);
        }
    }

    private static async Task EchoAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                var sent = 0;
                while (sent < n)
                {
                    sent += await socket.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None);
                }
            }
        }
        catch (SocketException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }
}
