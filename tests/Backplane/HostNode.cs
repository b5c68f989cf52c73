using System.Text.Json;
using Engine.Tests.Support;

namespace Engine.Tests.Backplane;

/// <summary>One Host process (the real server, src/Host; the published executable named by <c>HOST_EXECUTABLE</c> if set) on a free loopback port, joined to a broker.</summary>
public sealed class HostNode : IAsyncDisposable
{
    private readonly HostProcess _process;
    private readonly HttpClient _http = new();

    private HostNode(HostProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public Uri Uri => new($"ws://127.0.0.1:{Port}/");

    public static async Task<HostNode> StartAsync(string backplane, IDictionary<string, string>? environment = null)
    {
        var variables = new Dictionary<string, string>
        {
            ["WS_PORT"] = "0",
            ["WS_ADDRESS"] = "127.0.0.1",
            ["WS_BACKPLANE"] = backplane,
            ["WS_SHUTDOWN_TIMEOUT"] = "1000",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            variables[key] = value;
        }
        // HOST_EXECUTABLE: the Native AOT Host test.sh publishes (the broker clients must work trimmed, too).
        HostProcess process = await HostProcess.StartAsync([], variables, HostProcess.PublishedExecutable);
        var node = new HostNode(process, process.Port);
        // The Host listens before its broker connection is up (it connects in the background); a test starts from a
        // joined node, or a subscribe in history mode would get no position (as while the broker is down).
        await node.WaitForHealthAsync("ok", TestTimeouts.Hang);
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

    /// <summary>GET /readyz: its status code and body.</summary>
    public async Task<(int Status, string Body)> ReadinessAsync()
    {
        using HttpResponseMessage response = await _http.GetAsync($"http://127.0.0.1:{Port}/readyz");
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls /readyz until it answers <paramref name="status"/>; returns that answer's body.</summary>
    public async Task<string> WaitForReadinessAsync(int status, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        (int Status, string Body) now;
        while ((now = await ReadinessAsync()).Status != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"/readyz stayed {now.Status} {now.Body}, expected {status}");
            await Task.Delay(50);
        }
        return now.Body;
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

    public ValueTask DisposeAsync()
    {
        _process.Dispose(); // kills it if it still runs
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
