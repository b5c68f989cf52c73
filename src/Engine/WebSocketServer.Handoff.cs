using System.Buffers;
using System.Net;
using System.Text;
using Engine.Protocol;
using Engine.Runtime;
using Engine.Session;
using Engine.Transports;
using Microsoft.Extensions.Logging;

namespace Engine;

// Hand-offs: WebSocket requests another HTTP server (ASP.NET Core's Kestrel) parsed and answers, decided here with the
// same code as the engine's own handshakes (UpgradeAnswer.Decide), then served on the stream that server hands over.
public sealed partial class WebSocketServer
{
    /// <summary>
    /// Decides a WebSocket opening request that another HTTP server has parsed (ASP.NET Core: Engine.AspNetCore does
    /// this): the RFC 6455 checks, <see cref="WebSocketServerOptions.MaxConnections"/>, the handler's
    /// <see cref="IWebSocketHandler.OnUpgrade"/>, the subprotocol and permessage-deflate negotiation, exactly as for
    /// the engine's own transports. The caller sends the response the answer describes, then runs the connection with
    /// <see cref="UpgradeHandoff.RunAsync"/> (or gives up with <see cref="UpgradeHandoff.Cancel"/>). Thread-safe.
    /// </summary>
    /// <param name="requestHead">
    /// The request head in HTTP/1.1 form (request line, header lines, empty line), read during this call only. For an
    /// HTTP/2 extended CONNECT (RFC 8441) it carries the path as target and the headers, without pseudo-headers.
    /// </param>
    /// <param name="extendedConnect">
    /// True for a WebSocket over HTTP/2 (RFC 8441): the method and <c>:protocol</c> were checked by the caller, and there is
    /// no <c>Sec-WebSocket-Key</c> to answer; false for an HTTP/1.1 upgrade, checked in full.
    /// </param>
    /// <param name="remoteEndPoint">The peer's address, shown as <see cref="RequestHead.RemoteEndPoint"/> and <see cref="WebSocketConnection.RemoteEndPoint"/>.</param>
    /// <param name="context">Shown to the handler as <see cref="RequestHead.Context"/> (for example the HttpContext).</param>
    public UpgradeHandoff BeginUpgrade(ReadOnlySpan<byte> requestHead, bool extendedConnect, EndPoint? remoteEndPoint = null, object? context = null)
    {
        var handoff = new UpgradeHandoff(this, Interlocked.Increment(ref _nextId), remoteEndPoint, context);
        if (State != ServerState.Running)
        {
            // Not started, or stopping: the caller's server is still taking requests while this one drains.
            handoff.Decided(UpgradeAnswer.Refused(503), null);
            return handoff;
        }
        HttpRequestHead head = default;
        if (HttpRequestParser.TryParse(requestHead, Options.MaxRequestHeadSize, ref head, out int errorStatus) != OperationStatus.Done)
        {
            int status = errorStatus == 0 ? 400 : errorStatus; // no blank line: the caller handed an incomplete head
            OnHandshakeRejected(null, remoteEndPoint, status, HandshakeRejection.BadRequest);
            handoff.Decided(UpgradeAnswer.Refused(status), null);
            return handoff;
        }
        Slice key = default;
        int rejected;
        HandshakeKind kind = extendedConnect
            ? HandshakeValidator.ValidateExtendedConnect(requestHead, head, out rejected)
            : HandshakeValidator.Validate(requestHead, head, out key, out rejected);
        if (kind == HandshakeKind.PlainHttp)
        {
            OnHandshakeRejected(null, remoteEndPoint, 426, HandshakeRejection.NotUpgrade);
            handoff.Decided(UpgradeAnswer.Refused(426), null);
            return handoff;
        }
        var answer = UpgradeAnswer.Decide(handoff, requestHead, head, kind, rejected, _settings.Compression);
        string? acceptKey = null;
        if (answer.IsAccepted && !extendedConnect)
        {
            Span<byte> accept = stackalloc byte[AcceptKey.Length];
            AcceptKey.Compute(key.Of(requestHead), accept);
            acceptKey = Encoding.ASCII.GetString(accept);
        }
        handoff.Decided(answer, acceptKey);
        return handoff;
    }

    /// <summary>
    /// The application's decision on a valid upgrade, counted against <see cref="WebSocketServerOptions.MaxConnections"/>:
    /// an accepted decision holds a reservation the caller must release (when the connection ends, or at once if the
    /// upgrade does not go ahead); a refusal or a throwing handler holds none.
    /// </summary>
    internal UpgradeDecision DecideUpgrade(RequestHead request, long id)
    {
        if (!TryReserveConnection())
        {
            return UpgradeDecision.ServerFull; // 503 over MaxConnections; the open ones are untouched
        }
        UpgradeDecision decision;
        try
        {
            decision = Handler.OnUpgrade(request);
        }
        catch (Exception exception)
        {
            ReleaseConnection();
            ServerLog.HandlerFailed(Logger, "OnUpgrade", id, exception);
            throw;
        }
        if (!decision.IsAccepted)
        {
            ReleaseConnection();
        }
        return decision;
    }

    /// <summary>Counts and logs a refused handshake; the end point is read only when the debug log is on.</summary>
    internal void OnHandshakeRejected(WebSocketConnection? connection, EndPoint? remoteEndPoint, int status, HandshakeRejection reason)
    {
        Metrics.Rejected(status, reason);
        if (Logger.IsEnabled(LogLevel.Debug)) // the end point is made on first use: not for a log line nobody reads
        {
            ServerLog.HandshakeRejected(Logger, remoteEndPoint ?? connection?.RemoteEndPoint, status, ServerMetrics.ReasonName(reason));
        }
    }

    /// <summary>
    /// Serves an accepted hand-off on <paramref name="stream"/>: the session starts open with what was agreed, reports
    /// OnOpen before the first read, and the task completes when the stream is released (the connection is over).
    /// </summary>
    internal Task RunHandoff(UpgradeHandoff handoff, Stream stream, in UpgradeAnswer answer)
    {
        if (State == ServerState.Stopped)
        {
            ReleaseConnection(); // the reservation taken by DecideUpgrade
            stream.Dispose();
            return Task.CompletedTask;
        }
        var transport = new StreamConnection(stream, handoff.RemoteEndPoint, Buffers, handedOver: true);
        var session = new WebSocketSession(transport.Output);
        var connection = new WebSocketConnection(handoff.Id, session);
        connection.Adopt(answer.Decision, Subprotocols);
        session.StartOpen(connection, _settings, answer, Clock()); // first: the connection reaches this server through its session
        _connections.Add(connection);
        transport.Start(session, () => session.Open(Clock()));
        if (State >= ServerState.Stopping)
        {
            connection.CloseForShutdown();
        }
        return transport.Released;
    }
}
