using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Engine.Tests.Backplane;

/// <summary>One Host process (the real server, src/Host; the published executable named by <c>HOST_EXECUTABLE</c> if set) on a free loopback port, joined to a broker.</summary>
public sealed partial class HostNode : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http = new();

    private HostNode(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public Uri Uri => new($"ws://127.0.0.1:{Port}/");

    public static async Task<HostNode> StartAsync(string backplane, IDictionary<string, string>? environment = null)
    {
        // HOST_EXECUTABLE: the Native AOT Host test.sh publishes (the broker clients must work trimmed, too).
        string? executable = Environment.GetEnvironmentVariable("HOST_EXECUTABLE");
        var start = new ProcessStartInfo(string.IsNullOrEmpty(executable) ? "dotnet" : executable)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (string.IsNullOrEmpty(executable))
        {
            start.ArgumentList.Add(HostDll());
        }
        start.Environment["WS_PORT"] = "0";
        start.Environment["WS_ADDRESS"] = "127.0.0.1";
        start.Environment["WS_BACKPLANE"] = backplane;
        start.Environment["WS_SHUTDOWN_TIMEOUT"] = "1000";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        Process process = Process.Start(start)!;
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("Host exited: " + string.Join('\n', output)));
                return;
            }
            output.Enqueue(e.Data);
            if (Listening().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value));
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        int port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var node = new HostNode(process, port);
        // The Host listens before its broker connection is up (it connects in the background); a test starts from a
        // joined node, or a subscribe in history mode would get no position (as while the broker is down).
        await node.WaitForHealthAsync("ok", TimeSpan.FromSeconds(15));
        return node;
    }

    /// <summary>GET /stats as JSON.</summary>
    public async Task<JsonDocument> StatsAsync() => JsonDocument.Parse(await _http.GetStringAsync($"http://127.0.0.1:{Port}/stats"));

    /// <summary>GET /healthz's <c>status</c>.</summary>
    public async Task<string> HealthAsync()
    {
        using JsonDocument health = JsonDocument.Parse(await _http.GetStringAsync($"http://127.0.0.1:{Port}/healthz"));
        return health.RootElement.GetProperty("status").GetString()!;
    }

    public async Task<long> StatAsync(string name)
    {
        using JsonDocument stats = await StatsAsync();
        return stats.RootElement.GetProperty(name).GetInt64();
    }

    public async Task WaitForHealthAsync(string status, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string now;
        while ((now = await HealthAsync()) != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"/healthz stayed '{now}', expected '{status}'");
            await Task.Delay(50);
        }
    }

    public async Task<NodeClient> ConnectAsync() => await NodeClient.ConnectAsync(Uri);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _http.Dispose();
    }

    private static string HostDll()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Engine.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }
        Assert.NotNull(dir);
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        string dll = Path.Combine(dir, "src", "Host", "bin", configuration, "net10.0", "Host.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build src/Host first");
        return dll;
    }

    [GeneratedRegex(@"listening on ws://[^ ]*:(\d+) ")]
    private static partial Regex Listening();
}
