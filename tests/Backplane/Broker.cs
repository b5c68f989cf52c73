using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Tests.Support;

namespace Engine.Tests.Backplane;

/// <summary>
/// A real redis-server or nats-server (Debian packages; test.sh installs them) on a free loopback port, owned by the
/// test: started, stopped and restarted by it, killed at the end. A missing binary fails the test (never a silent skip).
/// </summary>
public sealed class Broker : IAsyncDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("backplane-broker-").FullName;
    private Process? _process;

    private Broker(string kind)
    {
        Kind = kind;
        Port = FreePort();
        MonitorPort = kind == "nats" ? FreePort() : 0;
    }

    /// <summary><c>redis</c> or <c>nats</c>.</summary>
    public string Kind { get; }

    public int Port { get; }

    /// <summary>nats-server's HTTP monitoring port (subscriptions are read there).</summary>
    public int MonitorPort { get; }

    /// <summary>The WS_BACKPLANE value for the Host.</summary>
    public string Url => $"{Kind}://127.0.0.1:{Port}";

    public static async Task<Broker> StartAsync(string kind)
    {
        var broker = new Broker(kind);
        await broker.StartAsync();
        return broker;
    }

    public async Task StartAsync()
    {
        string? path = BrokerCommand.Find(Kind);
        if (path is null)
        {
            Assert.Fail($"{BrokerCommand.Binary(Kind)} is not installed: the backplane tests need a real broker (test.sh installs the Debian package)");
        }
        var start = new ProcessStartInfo(path!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in BrokerCommand.Arguments(Kind, Port, _dataDir, MonitorPort))
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang; // a broker starts in well under a second
        while (true)
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, Port);
                if (Kind == "nats")
                {
                    using var http = new HttpClient();
                    await http.GetStringAsync($"http://127.0.0.1:{MonitorPort}/healthz?js-enabled-only=true");
                }
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Kills the broker (like a crash: no goodbye to the clients).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    /// <summary>How many connections are subscribed to <paramref name="channel"/> at the broker.</summary>
    public async Task<int> SubscribersAsync(string channel)
    {
        if (Kind == "redis")
        {
            var cli = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string arg in (string[])["-h", "127.0.0.1", "-p", Port.ToString(), "--raw", "PUBSUB", "NUMSUB", "ws:" + channel])
            {
                cli.ArgumentList.Add(arg);
            }
            using Process process = Process.Start(cli)!;
            string[] lines = (await process.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            await process.WaitForExitAsync();
            return int.Parse(lines[1].Trim());
        }
        using var http = new HttpClient();
        using JsonDocument connz = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{MonitorPort}/connz?subs=1"));
        string subject = "ws." + channel;
        int count = 0;
        foreach (JsonElement connection in connz.RootElement.GetProperty("connections").EnumerateArray())
        {
            if (connection.TryGetProperty("subscriptions_list", out JsonElement subs) && subs.EnumerateArray().Any(s => s.GetString() == subject))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>Waits until <paramref name="channel"/> has <paramref name="expected"/> subscribers at the broker.</summary>
    public async Task WaitForSubscribersAsync(string channel, int expected)
    {
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
        int count;
        while ((count = await SubscribersAsync(channel)) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{channel}: {count} subscribers at the broker, expected {expected}");
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
