using System.Collections.Concurrent;
using Engine;

namespace Host;

/// <summary>
/// Sends every message to every other connected client: a loop over connections, the baseline the benchmark's
/// fan-out scenario measures until the sharded pub/sub of the application protocol replaces it.
/// </summary>
public sealed class BroadcastHandler(DiagnosticsEndpoints? diagnostics = null) : IWebSocketHandler
{
    private readonly ConcurrentDictionary<long, WebSocketConnection> _connections = new();

    /// <inheritdoc/>
    public HttpResponse? OnHttpRequest(RequestHead request) => diagnostics?.Handle(request);

    /// <inheritdoc/>
    public void OnOpen(WebSocketConnection connection) => _connections[connection.Id] = connection;

    /// <inheritdoc/>
    public void OnClose(WebSocketConnection connection, CloseCode code, string reason) => _connections.TryRemove(connection.Id, out _);

    /// <inheritdoc/>
    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
    {
        foreach (KeyValuePair<long, WebSocketConnection> entry in _connections)
        {
            if (entry.Key != connection.Id)
            {
                entry.Value.Send(payload, type);
            }
        }
    }
}
