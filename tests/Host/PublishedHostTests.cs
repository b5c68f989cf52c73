using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace Engine.Tests.HostApp;

/// <summary>
/// Runs the Host as a process, the way it is deployed: start on a free port as a systemd notify service would (a
/// NOTIFY_SOCKET datagram socket made by the test), a WebSocket echo, /healthz, /readyz and /metrics, then SIGTERM: a
/// clean exit, with READY=1 and STOPPING=1 sent to the socket. Once with the JIT build (dotnet Host.dll), once with the
/// Native AOT executable test.sh publishes (<c>HOST_EXECUTABLE</c>).
/// </summary>
public sealed class PublishedHostTests
{
    [Fact]
    public Task The_JIT_build_serves_echo_health_and_metrics_notifies_systemd_and_stops_on_SIGTERM() => RunAsync(executable: null);

    [PublishedHostFact]
    public Task The_published_executable_serves_echo_health_and_metrics_notifies_systemd_and_stops_on_SIGTERM() =>
        RunAsync(HostProcess.PublishedExecutable);

    private static async Task RunAsync(string? executable)
    {
        string notifyPath = Path.Combine(Path.GetTempPath(), $"engine-notify-{Guid.NewGuid():N}.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        try
        {
            using HostProcess host = await HostProcess.StartAsync(["--echo", "--port", "0", "--address", "127.0.0.1", "--heartbeat-interval", "0"],
                new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath }, executable, workingDirectory: Path.GetTempPath());
            int port = host.Port;
            Assert.Equal("READY=1", await ReceiveNotificationAsync(notify));

            using (var client = new ClientWebSocket())
            {
                await client.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"), CancellationToken.None);
                byte[] sent = Encoding.UTF8.GetBytes("hello from the AOT test");
                await client.SendAsync(sent, WebSocketMessageType.Text, true, CancellationToken.None);
                var buffer = new byte[256];
                using var deadline = new CancellationTokenSource(TestTimeouts.Hang);
                WebSocketReceiveResult result = await client.ReceiveAsync(buffer, deadline.Token);
                Assert.Equal(WebSocketMessageType.Text, result.MessageType);
                Assert.Equal(sent, buffer.AsSpan(0, result.Count).ToArray());
                await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", deadline.Token);
            }

            using var http = new HttpClient();
            using (HttpResponseMessage health = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz")))
            {
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
                Assert.Contains("\"status\":\"ok\"", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
            using (HttpResponseMessage ready = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }
            string metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            Dictionary<string, double> samples = PrometheusText.Parse(metrics);
            Assert.True(samples["dotnet_process_memory_working_set_bytes"] > 0);

            host.Terminate();
            // A hang bound: the Host's shutdown timeout is 10 s and nothing is connected, so it exits at once.
            Assert.True(await host.WaitForExitAsync(TestTimeouts.Hang), "no exit after SIGTERM");
            Assert.Equal("STOPPING=1", await ReceiveNotificationAsync(notify));
            Assert.Equal(0, host.ExitCode);
            Assert.Contains("stopped", host.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notifyPath);
        }
    }

    private static async Task<string> ReceiveNotificationAsync(Socket notify)
    {
        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(TestTimeouts.Hang);
        int length = await notify.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }
}

/// <summary>A fact that runs only when <c>HOST_EXECUTABLE</c> names a published Host (test.sh sets it after the AOT publish).</summary>
public sealed class PublishedHostFactAttribute : FactAttribute
{
    public const string Variable = "HOST_EXECUTABLE";

    public PublishedHostFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path || !File.Exists(path))
        {
            Skip = $"{Variable} does not name a published Host executable (test.sh publishes the AOT build and sets it)";
        }
    }
}
