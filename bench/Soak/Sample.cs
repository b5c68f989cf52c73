using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Engine.Tests.Support;

namespace Soak;

/// <summary>One reading of the server process: from /proc (RSS, threads, descriptors) and from the Host's <c>/stats</c>.</summary>
internal sealed record Sample(double Seconds, long RssBytes, int Threads, int OpenHandles, long ManagedHeap, long Connections, long OutstandingBuffers, long AllocatedBytes)
{
    public static Sample Take(double seconds, int pid, int port)
    {
        (long rss, int threads) = ProcessStatus.Read(pid);
        int handles = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        using JsonDocument stats = FetchStats(port);
        JsonElement root = stats.RootElement;
        return new Sample(seconds, rss, threads, handles, root.GetProperty("managedHeap").GetInt64(), root.GetProperty("connections").GetInt64(),
            root.GetProperty("outstandingBuffers").GetInt64(), root.GetProperty("allocatedBytes").GetInt64());
    }

    /// <summary>The kinds of a process's open descriptors ("socket", "anon_inode:[eventpoll]", "pipe", a file path), counted.</summary>
    public static Dictionary<string, int> HandleKinds(int pid)
    {
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            string target;
            try
            {
                target = new FileInfo(fd).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                continue; // closed while we looked
            }
            string kind = target.StartsWith("socket:", StringComparison.Ordinal) ? "socket"
                : target.StartsWith("pipe:", StringComparison.Ordinal) ? "pipe"
                : target;
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        return kinds;
    }

    /// <summary>GET /stats over a plain socket (the sampler must not hold connections of its own between samples).</summary>
    public static JsonDocument FetchStats(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, SendTimeout = 5000 };
        socket.Connect(IPAddress.Loopback, port);
        socket.Send(Encoding.ASCII.GetBytes($"GET /stats HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"));
        var response = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            response.Write(buffer, 0, n);
        }
        string text = Encoding.ASCII.GetString(response.ToArray());
        int open = text.IndexOf('{', StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || open < 0)
        {
            throw new InvalidOperationException("bad /stats answer: " + text);
        }
        return JsonDocument.Parse(text[open..]);
    }
}
