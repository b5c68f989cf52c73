using System.Globalization;
using System.Text;
using System.Text.Json;
using Engine;

namespace Host;

/// <summary>Plain-HTTP endpoints on the WebSocket port: <c>/healthz</c> (status, connections, channels), and <c>/stats</c> (the benchmark reads allocations from it).</summary>
public sealed class DiagnosticsEndpoints
{
    /// <summary>The server whose connections are reported; set once it is created.</summary>
    public WebSocketServer? Server { get; set; }

    /// <summary>Answers a plain HTTP request: the endpoints above, 404 otherwise.</summary>
    public HttpResponse Handle(RequestHead request)
    {
        // Open WebSocket connections: the HTTP request asking is not one of them.
        int connections = Server?.OpenWebSocketCount ?? 0;
        if (request.PathEquals("/healthz"u8))
        {
            return new HttpResponse(200, "application/json",
                JsonSerializer.SerializeToUtf8Bytes(new HealthStatus("ok", connections, Server?.PubSub.ChannelCount ?? 0), AppJsonContext.Default.HealthStatus),
                NoStore);
        }
        if (request.PathEquals("/stats"u8))
        {
            return Json(string.Create(CultureInfo.InvariantCulture,
                $"{{\"allocatedBytes\":{GC.GetTotalAllocatedBytes(precise: true)},\"managedHeap\":{GC.GetTotalMemory(false)},\"connections\":{connections},\"outstandingBuffers\":{Server?.OutstandingBuffers ?? 0},\"gen0\":{GC.CollectionCount(0)},\"gen1\":{GC.CollectionCount(1)},\"gen2\":{GC.CollectionCount(2)},\"workingSet\":{Environment.WorkingSet}}}"));
        }
        return StaticAssets.Handle(request) ?? HttpResponse.Text(404, "not found\n");
    }

    private static readonly KeyValuePair<string, string>[] NoStore = [new("Cache-Control", "no-store")];

    private static HttpResponse Json(string json) => new(200, "application/json", Encoding.UTF8.GetBytes(json), NoStore);
}
