using Engine;
using Engine.AspNetCore;

namespace AspNetCorePeer;

/// <summary>
/// Echo (each message back to its sender) or broadcast (each message to every other client through the engine's
/// pub/sub), as the Host's --echo and --broadcast modes. With <c>log</c> it prints one line per upgrade with the HTTP
/// version Kestrel saw, which the browser test reads to prove Chromium came over HTTP/2.
/// </summary>
internal sealed class PeerHandler(bool broadcast, bool log) : IWebSocketHandler
{
    private const string Everyone = "all";

    public UpgradeDecision OnUpgrade(RequestHead request)
    {
        if (log && request.GetHttpContext() is { } context)
        {
            Console.WriteLine($"upgrade {context.Request.Protocol} {context.Request.Method} {context.Request.Path} connection {context.Connection.Id}");
        }
        return UpgradeDecision.Accept();
    }

    public void OnOpen(WebSocketConnection connection)
    {
        if (broadcast)
        {
            connection.Server.PubSub.Subscribe(connection, Everyone);
        }
    }

    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
    {
        if (broadcast)
        {
            connection.Server.PubSub.Publish(Everyone, payload, type, exclude: connection);
        }
        else
        {
            connection.Send(payload, type);
        }
    }
}
