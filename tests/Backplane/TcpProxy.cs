using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Engine.Tests.Backplane;

/// <summary>
/// A loopback TCP relay in front of a Host node, standing in for a load balancer or a network path the test controls:
/// <see cref="Cut"/> resets every relayed connection and refuses new ones (accepted, then reset) until
/// <see cref="Open"/> routes them again, to the same or another node.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly Task _accepting;
    private volatile int _target;

    public TcpProxy(int target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Uri => new($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>Resets every relayed connection (both sides) and refuses new ones until <see cref="Open"/>.</summary>
    public void Cut()
    {
        _target = 0;
        foreach (Socket socket in _sockets.Keys)
        {
            Reset(socket);
        }
    }

    /// <summary>Relays new connections to <paramref name="target"/>.</summary>
    public void Open(int target) => _target = target;

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        Cut();
        await _accepting;
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync();
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                return; // stopped
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        _sockets[client] = 0;
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets[upstream] = 0;
        try
        {
            int target = _target;
            if (target == 0)
            {
                return; // refused
            }
            await upstream.ConnectAsync(IPAddress.Loopback, target);
            // Either direction ending ends both, as a connection through a dead middlebox would.
            await Task.WhenAny(PumpAsync(client, upstream), PumpAsync(upstream, client));
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Reset(client);
            Reset(upstream);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read));
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
        }
    }

    private void Reset(Socket socket)
    {
        if (!_sockets.TryRemove(socket, out _))
        {
            return;
        }
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close with RST: the peer sees the connection drop
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }
}
