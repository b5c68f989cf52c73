using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using Host;

namespace Engine.Tests.HostApp;

/// <summary>/metrics and /readyz on the Host's port, scraped over HTTP after real ClientWebSocket traffic.</summary>
[Collection(HostAppCollection.Name)]
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_count_the_real_traffic_of_the_app_protocol()
    {
        await using var host = await MeteredHost.StartAsync(AppServer.WithAuth());
        const int Publishes = 5;

        using AppClient intruder = await host.App.ConnectAsync();
        await intruder.SendTextAsync("""{"type":"auth","token":"not.a.jwt"}""");
        await intruder.ExpectCloseAsync(4001);

        using AppClient alice = await host.App.ConnectAsync();
        using AppClient bob = await host.App.ConnectAsync();
        foreach ((AppClient client, string user) in new[] { (alice, "alice"), (bob, "bob") })
        {
            await client.SendTextAsync($$"""{"type":"auth","token":"{{AppServer.Token(user)}}"}""");
            await client.ExpectAsync("authenticated");
            await client.SendTextAsync("""{"type":"subscribe","channel":"room"}""");
            await client.ExpectAsync("subscribed");
        }
        for (int i = 0; i < Publishes; i++)
        {
            await alice.SendTextAsync($$"""{"type":"message","channel":"room","content":{{i}}}""");
        }
        for (int i = 0; i < Publishes; i++)
        {
            await bob.ExpectAsync("message");
        }
        await bob.SendAsync([1, 4, .. "room"u8, 42], WebSocketMessageType.Binary);
        Assert.Equal(WebSocketMessageType.Binary, (await alice.ReceiveAsync()).Type);
        await bob.SendAsync([1, 2, 3], WebSocketMessageType.Binary); // a broken envelope: an error, not a publish
        await bob.ExpectAsync("error");

        Dictionary<string, double> metrics = await host.ScrapeAsync();
        Assert.Equal(2, metrics["host_auth_succeeded_total"]);
        Assert.Equal(1, metrics["host_auth_failed_total{reason=\"invalid\"}"]);
        Assert.Equal(0, metrics["host_auth_failed_total{reason=\"timeout\"}"]);
        Assert.Equal(2, metrics["host_channel_joins_total"]);
        Assert.Equal(Publishes, metrics["host_messages_published_total{message_type=\"text\"}"]);
        Assert.Equal(1, metrics["host_messages_published_total{message_type=\"binary\"}"]);
        Assert.Equal(0, metrics["host_auth_pending"]);

        // The engine's meter, through the same factory and endpoint. Clients sent: 1 bad auth, 2 x (auth + subscribe),
        // 5 publishes, 1 good and 1 broken envelope. The server sent: 3 connected, 2 authenticated, 2 subscribed,
        // 5 + 1 deliveries, 1 error.
        Assert.Equal(3, metrics["websocket_server_connections_opened_total"]);
        Assert.Equal(2, metrics["websocket_server_active_connections"]);
        Assert.Equal(1, metrics["websocket_server_connections_closed_total{websocket_close_code=\"4001\"}"]);
        Assert.Equal(1 + 4 + Publishes + 2, metrics["websocket_server_messages_received_total"]);
        Assert.Equal(3 + 2 + 2 + Publishes + 1 + 1, metrics["websocket_server_messages_sent_total"]);
        Assert.Equal(Publishes + 1, metrics["websocket_server_pubsub_deliveries_total"]);
        Assert.Equal(1, metrics["websocket_server_pubsub_channels"]);
        Assert.Equal(Publishes + 1, metrics["websocket_server_pubsub_fanout_duration_seconds_count"]);
        Assert.True(metrics["websocket_server_bytes_received_total"] > 0);
    }

    [Fact]
    public async Task Readyz_answers_503_until_ready_and_with_a_failing_check_and_healthz_stays_200()
    {
        await using var host = await MeteredHost.StartAsync(new Host.AppOptions(), ready: false);
        string? backplane = "backplane: disconnected";
        host.Diagnostics.ReadinessChecks.Add(() => backplane);

        using var http = new HttpClient();
        Uri Endpoint(string path) => new($"http://127.0.0.1:{host.App.Test.Port}{path}");
        using (HttpResponseMessage response = await http.GetAsync(Endpoint("/readyz")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            string body = await response.Content.ReadAsStringAsync();
            Assert.Contains("not listening", body, StringComparison.Ordinal);
            Assert.Contains("backplane: disconnected", body, StringComparison.Ordinal);
        }
        host.Diagnostics.Ready = true;
        using (HttpResponseMessage response = await http.GetAsync(Endpoint("/readyz")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }
        backplane = null;
        using (HttpResponseMessage response = await http.GetAsync(Endpoint("/readyz")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("""{"status":"ready","reasons":[]}""", await response.Content.ReadAsStringAsync());
        }
        host.Diagnostics.ReadinessChecks.Add(() => throw new InvalidOperationException("boom"));
        using (HttpResponseMessage response = await http.GetAsync(Endpoint("/readyz")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("boom", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (HttpResponseMessage response = await http.GetAsync(Endpoint("/healthz")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Metrics_is_404_when_disabled()
    {
        await using var host = await MeteredHost.StartAsync(new Host.AppOptions(), metrics: false);
        using var http = new HttpClient();
        using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{host.App.Test.Port}/metrics"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>The app handler with the Host's meters, exporter and diagnostics wired as Program.cs does.</summary>
    internal sealed class MeteredHost : IAsyncDisposable
    {
        private readonly HostMeterFactory _meters;
        private readonly PrometheusExporter? _exporter;

        private MeteredHost(HostMeterFactory meters, PrometheusExporter? exporter, DiagnosticsEndpoints diagnostics, AppServer app)
        {
            _meters = meters;
            _exporter = exporter;
            Diagnostics = diagnostics;
            App = app;
        }

        public DiagnosticsEndpoints Diagnostics { get; }

        public AppServer App { get; }

        public static async Task<MeteredHost> StartAsync(Host.AppOptions options, bool ready = true, bool metrics = true)
        {
            var meters = new HostMeterFactory();
            PrometheusExporter? exporter = metrics ? PrometheusExporter.For(meters, includeRuntime: false) : null;
            var hostMetrics = new HostMetrics();
            AppServer app = await AppServer.StartAsync(options, configure: o => o with { MeterFactory = meters }, metrics: hostMetrics, exporter: exporter);
            hostMetrics.CreateInstruments(meters, () => app.Handler.PendingAuthentications);
            app.Diagnostics.Ready = ready;
            return new MeteredHost(meters, exporter, app.Diagnostics, app);
        }

        /// <summary>GET /metrics over HTTP; every sample as "name{labels}" to value.</summary>
        public async Task<Dictionary<string, double>> ScrapeAsync()
        {
            using var http = new HttpClient();
            using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{App.Test.Port}/metrics"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        }

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            _exporter?.Dispose();
            _meters.Dispose();
        }
    }
}

/// <summary>Reads the Prometheus text format back, checking its shape on the way.</summary>
internal static class PrometheusText
{
    public static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                Assert.True(types.TryAdd(parts[2], parts[3]), $"TYPE twice for {parts[2]}");
                continue;
            }
            if (line.StartsWith('#'))
            {
                continue;
            }
            int space = line.LastIndexOf(' ');
            string series = line[..space];
            string name = series.Split('{')[0];
            Assert.Matches("^[a-zA-Z_:][a-zA-Z0-9_:]*$", name);
            string family = types.ContainsKey(name) ? name : System.Text.RegularExpressions.Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(types.ContainsKey(family), $"sample before its TYPE: {line}");
            string value = line[(space + 1)..];
            Assert.True(samples.TryAdd(series, value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture)), $"sample twice: {series}");
        }
        return samples;
    }
}
