using System.Net;
using Engine.Protocol;
using Engine.Session;

namespace Engine;

/// <summary>
/// A WebSocket opening request another HTTP server parsed, as the engine decided it
/// (<see cref="WebSocketServer.BeginUpgrade"/>). When <see cref="IsAccepted"/>, the caller sends the response
/// (HTTP/1.1: 101 with <c>Upgrade</c>, <c>Connection</c>, <see cref="AcceptKey"/>; HTTP/2: 200), with
/// <see cref="Subprotocol"/> and <see cref="Extensions"/> when set, then hands the upgraded stream to
/// <see cref="RunAsync"/>; if it cannot, it calls <see cref="Cancel"/>. Otherwise it answers <see cref="Status"/>.
/// One per request; <see cref="RunAsync"/> or <see cref="Cancel"/> once.
/// </summary>
public sealed class UpgradeHandoff : IUpgradeHost
{
    private readonly WebSocketServer _server;
    private readonly object? _context;
    private UpgradeAnswer _answer;
    private int _reserved; // 1 while this hand-off holds a MaxConnections reservation (accepted, not yet run or cancelled)

    internal UpgradeHandoff(WebSocketServer server, long id, EndPoint? remoteEndPoint, object? context)
    {
        _server = server;
        Id = id;
        RemoteEndPoint = remoteEndPoint;
        _context = context;
    }

    /// <summary>101 when accepted (send 101 over HTTP/1.1, 200 over HTTP/2), else the HTTP status to refuse with.</summary>
    public int Status => _answer.Status;

    /// <summary>Whether the upgrade goes ahead.</summary>
    public bool IsAccepted => _answer.IsAccepted;

    /// <summary>The <c>Sec-WebSocket-Accept</c> value for an accepted HTTP/1.1 upgrade; null over HTTP/2 (RFC 8441 §5) or when refused.</summary>
    public string? AcceptKey { get; private set; }

    /// <summary>The <c>Sec-WebSocket-Protocol</c> the handler chose, or null.</summary>
    public string? Subprotocol => _answer.IsAccepted ? _answer.Decision.Subprotocol : null;

    /// <summary>The <c>Sec-WebSocket-Extensions</c> answer (permessage-deflate, RFC 7692) when agreed, or null.</summary>
    public string? Extensions => _answer.Extensions;

    internal long Id { get; }

    internal EndPoint? RemoteEndPoint { get; }

    /// <summary>
    /// Serves the connection on <paramref name="stream"/> (the upgraded stream; owned by the engine from now on): the
    /// session is open at once with what was agreed, and the handler's OnOpen runs before the first message. Completes
    /// when the connection is over and the stream released; the caller keeps its request open until then.
    /// </summary>
    /// <exception cref="InvalidOperationException">The upgrade was not accepted, or this hand-off already ran or was cancelled.</exception>
    public Task RunAsync(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (Interlocked.Exchange(ref _reserved, 0) != 1)
        {
            throw new InvalidOperationException("Only an accepted upgrade runs, once.");
        }
        return _server.RunHandoff(this, stream, _answer);
    }

    /// <summary>The accepted upgrade will not run (the response could not be sent): releases its place. Idempotent.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _reserved, 0) == 1)
        {
            _server.ReleaseConnection();
        }
    }

    internal void Decided(in UpgradeAnswer answer, string? acceptKey)
    {
        _answer = answer;
        AcceptKey = acceptKey;
        // The subprotocol check can still refuse after the handler accepted: then nothing will run, released here.
        if (!answer.IsAccepted)
        {
            Cancel();
        }
    }

    UpgradeDecision IUpgradeHost.OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head)
    {
        UpgradeDecision decision = _server.DecideUpgrade(new RequestHead(buffer, in head, RemoteEndPoint, _context), Id);
        if (decision.IsAccepted)
        {
            _reserved = 1; // an accepted decision holds a MaxConnections reservation (WebSocketServer.DecideUpgrade)
        }
        return decision;
    }

    void IUpgradeHost.OnHandshakeRejected(int status, HandshakeRejection reason) =>
        _server.OnHandshakeRejected(null, RemoteEndPoint, status, reason);
}
