using System.Collections.Concurrent;
using System.Text;
using Engine.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Engine.Tests.AspNetCore;

/// <summary>
/// Echoes every message, except the text <c>whoami</c>, answered with what OnUpgrade read from the HttpContext:
/// <c>user|room|q|protocol</c>. Records the upgrades it saw and each connection's request facts, so tests can check on
/// the server side what reached the handler (the user, the route values, HTTP/2, the TCP connection under it).
/// </summary>
internal sealed class RecordingHandler : IWebSocketHandler
{
    public int Upgrades;

    public ConcurrentQueue<Seen> Opened { get; } = new();

    public ConcurrentQueue<(CloseCode Code, string Reason)> Closed { get; } = new();

    /// <summary>A subprotocol to choose when the client offers it.</summary>
    public string? Subprotocol { get; init; }

    /// <summary>Refuse every upgrade with this status (0: accept).</summary>
    public int RejectWith { get; init; }

    public UpgradeDecision OnUpgrade(RequestHead request)
    {
        Interlocked.Increment(ref Upgrades);
        HttpContext context = request.GetHttpContext() ?? throw new InvalidOperationException("no HttpContext handed over");
        if (RejectWith != 0)
        {
            return UpgradeDecision.Reject(RejectWith);
        }
        var seen = new Seen(
            context.User.Identity?.Name ?? "",
            context.GetRouteValue("room") as string ?? "",
            context.Request.Query["q"].ToString(),
            context.Request.Protocol,
            context.Connection.Id,
            request.Path,
            request.RemoteEndPoint?.ToString() ?? "");
        string? subprotocol = Subprotocol is not null && request.RequestedSubprotocols.Contains(Subprotocol) ? Subprotocol : null;
        return UpgradeDecision.Accept(subprotocol, seen);
    }

    public void OnOpen(WebSocketConnection connection)
    {
        var seen = (Seen)connection.UserState!;
        Opened.Enqueue(seen with { Compressed = connection.IsCompressed });
    }

    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
    {
        if (type == MessageType.Text && payload.SequenceEqual("whoami"u8))
        {
            var seen = (Seen)connection.UserState!;
            connection.SendText($"{seen.User}|{seen.Room}|{seen.Query}|{seen.Protocol}");
            return;
        }
        connection.Send(payload, type);
    }

    public void OnClose(WebSocketConnection connection, CloseCode code, string reason) => Closed.Enqueue((code, reason));

    public sealed record Seen(string User, string Room, string Query, string Protocol, string ConnectionId, string Path, string Remote)
    {
        public bool Compressed { get; init; }
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
