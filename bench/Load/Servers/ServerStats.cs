using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Load.Servers;

/// <summary>The server's own counters, from <c>GET /stats</c>.</summary>
internal readonly record struct ServerStats(long AllocatedBytes, long ManagedHeap, long Connections)
{
    /// <summary>Fetches /stats with a plain HTTP/1.1 request; null when the server has no such endpoint or answers badly.</summary>
    public static ServerStats? Fetch(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.ReceiveTimeout = 5000;
            socket.SendTimeout = 5000;
            socket.Connect(IPAddress.Loopback, port);
            socket.Send(Encoding.ASCII.GetBytes($"GET /stats HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"));
            var response = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = socket.Receive(buffer)) > 0)
            {
                response.Write(buffer, 0, n);
                if (TryParse(response.ToArray(), out var parsed))
                {
                    return parsed;
                }
            }
            return TryParse(response.ToArray(), out var last) ? last : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static bool TryParse(byte[] response, out ServerStats stats)
    {
        stats = default;
        var text = Encoding.ASCII.GetString(response);
        if (!text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
        {
            return false;
        }
        var open = text.IndexOf('{', StringComparison.Ordinal);
        var close = text.LastIndexOf('}');
        if (open < 0 || close < open)
        {
            return false;
        }
        try
        {
            using var doc = JsonDocument.Parse(text.AsMemory(open, close - open + 1));
            var root = doc.RootElement;
            stats = new ServerStats(Read(root, "allocatedBytes"), Read(root, "managedHeap"), Read(root, "connections"));
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static long Read(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : -1;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"alloc={AllocatedBytes} heap={ManagedHeap} conns={Connections}");
}
