using System.Globalization;
using System.Text;
using System.Text.Json;
using Engine;

namespace Host;

/// <summary>
/// Plain-HTTP endpoints on the WebSocket port: <c>/healthz</c> (liveness: the process answers), <c>/readyz</c> (readiness:
/// listening, not stopping, and every <see cref="ReadinessChecks"/> passes), <c>/metrics</c> (Prometheus text format, when
/// an <see cref="Exporter"/> is set) and <c>/stats</c> (the benchmark reads allocations from it). With a backplane,
/// <c>/healthz</c> says <c>degraded</c> while the broker is unreachable (still 200: the process is alive and local delivery
/// works), the Host adds a readiness check that answers 503 meanwhile (its channels no longer cross nodes), and
/// <c>/stats</c> counts the messages that could not cross nodes.
/// </summary>
public sealed class DiagnosticsEndpoints
{
    private volatile bool _ready;

    /// <summary>The server whose connections are reported; set once it is created.</summary>
    public WebSocketServer? Server { get; set; }

    /// <summary>Serves <c>/metrics</c>; null answers 404 there (metrics off).</summary>
    public PrometheusExporter? Exporter { get; set; }

    /// <summary>
    /// Extra readiness conditions (a backplane that must be connected, for example): each returns null when fine, else
    /// the reason it is not ready. Add them before the server starts.
    /// </summary>
    public IList<Func<string?>> ReadinessChecks { get; } = [];

    /// <summary>Set once the server listens, cleared when it starts stopping (so load balancers take it out first).</summary>
    public bool Ready
    {
        get => _ready;
        set => _ready = value;
    }

    /// <summary>Answers a plain HTTP request: the endpoints above, 404 otherwise.</summary>
    public HttpResponse Handle(RequestHead request)
    {
        // Open WebSocket connections: the HTTP request asking is not one of them.
        int connections = Server?.OpenWebSocketCount ?? 0;
        IPubSubBackplane? backplane = Server?.PubSub.Backplane;
        if (request.PathEquals("/healthz"u8))
        {
            string status = backplane is { IsConnected: false } ? "degraded" : "ok";
            string? broker = backplane is null ? null : backplane.IsConnected ? "connected" : "disconnected";
            return new HttpResponse(200, "application/json",
                JsonSerializer.SerializeToUtf8Bytes(new HealthStatus(status, connections, Server?.PubSub.ChannelCount ?? 0, broker), AppJsonContext.Default.HealthStatus),
                NoStore);
        }
        if (request.PathEquals("/readyz"u8))
        {
            string[] reasons = NotReadyReasons();
            return new HttpResponse(reasons.Length == 0 ? 200 : 503, "application/json",
                JsonSerializer.SerializeToUtf8Bytes(new ReadinessStatus(reasons.Length == 0 ? "ready" : "not-ready", reasons), AppJsonContext.Default.ReadinessStatus),
                NoStore);
        }
        if (request.PathEquals("/metrics"u8) && Exporter is { } exporter)
        {
            return new HttpResponse(200, PrometheusExporter.ContentType, exporter.Scrape(), NoStore);
        }
        if (request.PathEquals("/stats"u8))
        {
            return Json(string.Create(CultureInfo.InvariantCulture,
                $"{{\"allocatedBytes\":{GC.GetTotalAllocatedBytes(precise: true)},\"managedHeap\":{GC.GetTotalMemory(false)}," +
                $"\"connections\":{connections},\"outstandingBuffers\":{Server?.OutstandingBuffers ?? 0}," +
                $"\"gen0\":{GC.CollectionCount(0)},\"gen1\":{GC.CollectionCount(1)},\"gen2\":{GC.CollectionCount(2)}," +
                $"\"workingSet\":{Environment.WorkingSet}," +
                $"\"backplaneConnected\":{(backplane is { IsConnected: true } ? "true" : "false")}," +
                $"\"backplaneUndelivered\":{backplane?.UndeliveredMessages ?? 0},\"backplaneReceived\":{backplane?.ReceivedMessages ?? 0}}}"));
        }
        return StaticAssets.Handle(request) ?? HttpResponse.Text(404, "not found\n");
    }

    private string[] NotReadyReasons()
    {
        var reasons = new List<string>();
        if (!_ready)
        {
            reasons.Add("not listening (starting or stopping)");
        }
        foreach (Func<string?> check in ReadinessChecks)
        {
            string? reason;
            try
            {
                reason = check();
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // A failing check means not ready, never a crashed request.
                reason = $"readiness check failed: {exception.Message}";
            }
            if (reason is not null)
            {
                reasons.Add(reason);
            }
        }
        return [.. reasons];
    }

    private static readonly KeyValuePair<string, string>[] NoStore = [new("Cache-Control", "no-store")];

    private static HttpResponse Json(string json) => new(200, "application/json", Encoding.UTF8.GetBytes(json), NoStore);
}
