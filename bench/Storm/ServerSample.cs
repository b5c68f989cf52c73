using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Engine.Tests.Support;

namespace Storm;

/// <summary>
/// One reading of the server process: RSS, threads and descriptors (all, and sockets alone) from /proc; connections and
/// pooled blocks from the Host's <c>/stats</c>; timer-wheel entries, upgrades so far and the thread pool's queue length
/// (work items waiting for a pool thread: on the sockets transport, how far the server is behind), and the GC's pause
/// time, gen2 collections and bytes allocated so far (a pause stops every thread: a slow probe that overlaps one has its cause) from its
/// <c>/metrics</c>.
/// <see cref="Stats"/> is false when the Host did not answer in time (the /proc half is still read).
/// </summary>
internal sealed record ServerSample(double Seconds, long RssBytes, int Threads, int Descriptors, int Sockets, bool Stats,
    long Connections, long Blocks, long Timers, long Upgrades, long ListenOverflows, long PoolQueue = -1,
    double GcPauseSeconds = -1, long Gen2Collections = -1, long AllocatedBytes = -1)
{
    /// <param name="sockets">Also tell sockets from other descriptors: a readlink per descriptor, 19,000 of them at the
    /// storm's peak, so the per-second samples skip it (the server shares the box) and only the idle and end ones do it.</param>
    /// <param name="http">Also ask the Host (/stats, /metrics); false reads /proc only (see <see cref="StormOptions.StatsDuringStorm"/>).</param>
    public static ServerSample Take(double seconds, int pid, int port, bool sockets = true, bool http = true)
    {
        (long rss, int threads) = ProcessStatus.Read(pid);
        (int descriptors, int socketCount) = sockets ? CountDescriptors(pid) : (DescriptorCount.Of(pid), -1);
        long overflows = ListenOverflowsNow();
        if (!http)
        {
            return new ServerSample(seconds, rss, threads, descriptors, socketCount, false, -1, -1, -1, -1, overflows);
        }
        try
        {
            using JsonDocument stats = JsonDocument.Parse(Get(port, "/stats"));
            Dictionary<string, double> metrics = ParseMetrics(Get(port, "/metrics"));
            return new ServerSample(seconds, rss, threads, descriptors, socketCount, true,
                stats.RootElement.GetProperty("connections").GetInt64(), stats.RootElement.GetProperty("outstandingBuffers").GetInt64(),
                (long)metrics.GetValueOrDefault("websocket_server_timers_scheduled", -1),
                (long)metrics.GetValueOrDefault("websocket_server_connections_opened_total", -1), overflows,
                (long)metrics.GetValueOrDefault("dotnet_thread_pool_queue_length_total", -1),
                metrics.GetValueOrDefault("dotnet_gc_pause_time_seconds_total", -1),
                (long)metrics.GetValueOrDefault("dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}", -1),
                (long)metrics.GetValueOrDefault("dotnet_gc_heap_total_allocated_bytes_total", -1));
        }
        catch (Exception exception) when (exception is IOException or SocketException or InvalidOperationException or JsonException or OperationCanceledException)
        {
            return new ServerSample(seconds, rss, threads, descriptors, socketCount, false, -1, -1, -1, -1, overflows);
        }
    }

    /// <summary>
    /// TcpExt ListenOverflows from /proc/net/netstat: SYNs (and handshake ACKs) the kernel dropped because a listener's
    /// accept queue was full. The client retransmits a dropped SYN after 1 s, then 3 s: the one way a fresh client
    /// waits seconds for a server that is otherwise answering. Counts the whole network namespace (every listener).
    /// </summary>
    public static long ListenOverflowsNow()
    {
        string[] lines = File.ReadAllLines("/proc/net/netstat");
        for (int i = 0; i + 1 < lines.Length; i += 2)
        {
            string[] names = lines[i].Split(' ');
            string[] values = lines[i + 1].Split(' ');
            int column = Array.IndexOf(names, "ListenOverflows");
            if (names[0] == "TcpExt:" && column > 0 && column < values.Length)
            {
                return long.Parse(values[column], CultureInfo.InvariantCulture);
            }
        }
        return -1;
    }

    /// <summary>Open descriptors of <paramref name="pid"/>, and how many of them are sockets.</summary>
    public static (int All, int Sockets) CountDescriptors(int pid)
    {
        int all = 0, sockets = 0;
        foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            all++;
            try
            {
                if (new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true)
                {
                    sockets++;
                }
            }
            catch (IOException)
            {
                // Closed while we looked: counted in all, as it was open when listed.
            }
        }
        return (all, sockets);
    }

    /// <summary>A Prometheus text page as name → value summed over label sets, and as name{labels} → value for each set.</summary>
    private static Dictionary<string, double> ParseMetrics(string text)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int space = line.LastIndexOf(' ');
            int brace = line.IndexOf('{', StringComparison.Ordinal);
            string name = line[..(brace > 0 && brace < space ? brace : space)];
            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                values[name] = values.GetValueOrDefault(name) + value; // summed over its labels
                if (brace > 0 && brace < space)
                {
                    values[line[..space]] = value; // and each labelled series alone
                }
            }
        }
        return values;
    }

    /// <summary>GET <paramref name="path"/> over a plain socket (the sampler must not hold a connection between samples).</summary>
    private static string Get(int port, string path)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, SendTimeout = 5000 };
        // A bounded connect: a SYN dropped by a full accept queue is retried for minutes by a plain blocking connect.
        using (var connectTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), connectTimeout.Token).AsTask().GetAwaiter().GetResult();
        }
        socket.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"));
        var response = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            response.Write(buffer, 0, n);
        }
        string text = Encoding.UTF8.GetString(response.ToArray());
        int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || body < 0)
        {
            throw new InvalidOperationException($"bad {path} answer: " + text[..Math.Min(text.Length, 200)]);
        }
        return text[(body + 4)..];
    }
}
