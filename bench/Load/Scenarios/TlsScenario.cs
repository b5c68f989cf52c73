using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Load.Servers;

namespace Load.Scenarios;

/// <summary>What one wss:// echo cell measured, and the idle-memory cell.</summary>
internal sealed record TlsIdleOutcome(int Opened, int Failed, double RssPerConnection, string? Error);

/// <summary>
/// wss:// (TLS) echo and idle connections. The generator here is not the epoll client of the other scenarios (it reads
/// raw descriptors, and TLS needs a stream): each connection is an <see cref="SslStream"/> over a socket with .NET's own
/// WebSocket client on top, driven by async tasks on the generator's one core. That client costs more CPU per message
/// than the servers do, so msgs/s here are bounded by the generator; the figure to compare is messages per server
/// CPU-second, and each cell reports the generator's ceiling (messages per generator CPU-second).
/// </summary>
internal static class TlsScenario
{
    /// <summary>Writes a self-signed ECDSA P-256 certificate and key for localhost as PEM files; both servers load the same pair.</summary>
    public static (string Certificate, string Key) WriteCertificate(string directory)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var certificatePath = Path.Combine(directory, "bench-tls.crt");
        var keyPath = Path.Combine(directory, "bench-tls.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>Closed-loop echo: every connection keeps <see cref="EchoSpec.Window"/> messages in flight.</summary>
    public static Measurement RunEcho(ServerProcess server, bool tls, EchoSpec spec)
    {
        var connections = ConnectMany(server.Port, tls, spec.Connections, out var failed, out var error);
        var result = new Measurement { Failed = failed, Error = error };
        var payload = new byte[spec.Payload];
        Random.Shared.NextBytes(payload);
        var counters = new long[connections.Count];
        using var stop = new CancellationTokenSource();
        var loops = new Task[connections.Count];
        for (var i = 0; i < connections.Count; i++)
        {
            var index = i;
            loops[i] = Task.Run(() => EchoLoopAsync(connections[index], payload, spec.Window, counters, index, stop.Token));
        }
        Thread.Sleep(spec.Warmup);
        var cpu0 = server.CpuSeconds();
        var client0 = ProcStat.CpuSeconds(Environment.ProcessId);
        var received0 = Sum(counters);
        var t0 = Stopwatch.GetTimestamp();
        Thread.Sleep(spec.Measure);
        var cpu1 = server.CpuSeconds();
        var client1 = ProcStat.CpuSeconds(Environment.ProcessId);
        var received1 = Sum(counters);
        var t1 = Stopwatch.GetTimestamp();
        stop.Cancel();
        foreach (var connection in connections)
        {
            connection.Abort();
        }
        try
        {
            Task.WaitAll(loops, TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // The loops end by the aborts above.
        }
        foreach (var loop in loops)
        {
            if (loop.IsFaulted && !stop.IsCancellationRequested)
            {
                result.Failed++;
                result.Error ??= loop.Exception?.InnerException?.Message;
            }
        }
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
        result.Seconds = (double)(t1 - t0) / Stopwatch.Frequency;
        result.Messages = received1 - received0;
        result.PayloadBytes = result.Messages * spec.Payload;
        result.ServerCpuSeconds = cpu1 - cpu0;
        result.ClientCpuSeconds = client1 - client0;
        return result;
    }

    /// <summary>Opens <paramref name="count"/> idle connections to a fresh server and reads its RSS before and after.</summary>
    public static TlsIdleOutcome RunIdle(ServerProcess server, bool tls, int count)
    {
        Thread.Sleep(1000);
        var rss0 = server.RssBytes();
        var connections = ConnectMany(server.Port, tls, count, out var failed, out var error);
        try
        {
            // Let the server finish whatever it does lazily after the handshakes, and the GC settle, before reading RSS.
            Thread.Sleep(2000);
            var rss1 = server.RssBytes();
            var per = rss0 > 0 && rss1 > 0 && connections.Count > 0 ? (double)(rss1 - rss0) / connections.Count : double.NaN;
            if (server.HasExited)
            {
                error ??= "server exited: " + server.LogTail();
            }
            return new TlsIdleOutcome(connections.Count, failed, per, error);
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }
    }

    private static List<WssConnection> ConnectMany(int port, bool tls, int count, out int failed, out string? error)
    {
        var tasks = new Task<WssConnection>[count];
        using var gate = new SemaphoreSlim(32);
        for (var i = 0; i < count; i++)
        {
            tasks[i] = Task.Run(async () =>
            {
                await gate.WaitAsync();
                try
                {
                    return await WssConnection.ConnectAsync(port, tls);
                }
                finally
                {
                    gate.Release();
                }
            });
        }
        try
        {
            Task.WaitAll(tasks, TimeSpan.FromSeconds(120));
        }
        catch (AggregateException)
        {
            // Counted below.
        }
        var open = new List<WssConnection>(count);
        failed = 0;
        error = null;
        foreach (var task in tasks)
        {
            if (task.IsCompletedSuccessfully)
            {
                open.Add(task.Result);
            }
            else
            {
                failed++;
                error ??= task.Exception?.InnerException?.Message ?? "connect timed out";
            }
        }
        return open;
    }

    private static async Task EchoLoopAsync(WssConnection connection, byte[] payload, int window, long[] counters, int index, CancellationToken stop)
    {
        var buffer = new byte[Math.Max(payload.Length, 1024)];
        var socket = connection.WebSocket;
        for (var i = 0; i < window; i++)
        {
            await socket.SendAsync(payload, WebSocketMessageType.Binary, true, CancellationToken.None);
        }
        while (!stop.IsCancellationRequested)
        {
            ValueWebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            }
            while (!received.EndOfMessage);
            Volatile.Write(ref counters[index], counters[index] + 1);
            await socket.SendAsync(payload, WebSocketMessageType.Binary, true, CancellationToken.None);
        }
    }

    private static long Sum(long[] counters)
    {
        long sum = 0;
        for (var i = 0; i < counters.Length; i++)
        {
            sum += Volatile.Read(ref counters[i]);
        }
        return sum;
    }

    /// <summary>One client connection: a socket, TLS when asked (trusting the benchmark's own certificate), the upgrade, then .NET's WebSocket client.</summary>
    private sealed class WssConnection(Socket socket, Stream stream, WebSocket webSocket) : IDisposable
    {
        public WebSocket WebSocket { get; } = webSocket;

        public static async Task<WssConnection> ConnectAsync(int port, bool tls)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port);
                Stream stream = new NetworkStream(socket, ownsSocket: true);
                if (tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = "localhost",
                        // The benchmark's own self-signed certificate, made this run.
                        RemoteCertificateValidationCallback = static (_, _, _, _) => true,
                    });
                    stream = ssl;
                }
                var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"GET / HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
                var head = await ReadHeadAsync(stream);
                if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("upgrade refused: " + head.Split('\r')[0]);
                }
                var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
                return new WssConnection(socket, stream, webSocket);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        public void Abort() => WebSocket.Abort();

        public void Dispose()
        {
            WebSocket.Dispose();
            stream.Dispose();
            socket.Dispose();
        }

        private static async Task<string> ReadHeadAsync(Stream stream)
        {
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(one) != 1)
                {
                    throw new IOException("connection closed during the upgrade");
                }
                head.Append((char)one[0]);
            }
            return head.ToString();
        }
    }
}
