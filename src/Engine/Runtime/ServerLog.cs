using System.Net;
using Microsoft.Extensions.Logging;

namespace Engine.Runtime;

/// <summary>
/// The server's log events, source-generated (<see cref="LoggerMessageAttribute"/>): each checks the level first and
/// formats nothing when it is off. Callers guard arguments that cost something to compute (a remote end point) with
/// <see cref="ILogger.IsEnabled"/>. Event ids are stable (docs/metrics.md lists them).
/// </summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Information, "WebSocket server listening on {EndPoint} ({Transport} transport)")]
    public static partial void ServerStarted(ILogger logger, IPEndPoint endPoint, TransportKind transport);

    [LoggerMessage(2, LogLevel.Information, "WebSocket server stopping: closing {Connections} connections with 1001")]
    public static partial void ServerStopping(ILogger logger, int connections);

    [LoggerMessage(3, LogLevel.Information, "WebSocket server stopped ({Aborted} connections aborted after the shutdown timeout)")]
    public static partial void ServerStopped(ILogger logger, int aborted);

    [LoggerMessage(4, LogLevel.Debug, "Accept failed: {SocketError}")]
    public static partial void AcceptFailed(ILogger logger, System.Net.Sockets.SocketError socketError);

    [LoggerMessage(5, LogLevel.Error, "A timer callback threw; the other connections' timeouts go on")]
    public static partial void TimerCallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Debug, "Connection {ConnectionId} from {RemoteEndPoint} opened (subprotocol {Subprotocol})")]
    public static partial void ConnectionOpened(ILogger logger, long connectionId, EndPoint? remoteEndPoint, string? subprotocol);

    [LoggerMessage(11, LogLevel.Debug, "Connection {ConnectionId} closed with {CloseCode} \"{CloseReason}\"")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, int closeCode, string closeReason);

    [LoggerMessage(12, LogLevel.Debug, "Handshake from {RemoteEndPoint} rejected with {StatusCode} ({Reason})")]
    public static partial void HandshakeRejected(ILogger logger, EndPoint? remoteEndPoint, int statusCode, string reason);

    [LoggerMessage(13, LogLevel.Debug, "Connection {ConnectionId} broke the protocol ({Error}): closing with {CloseCode}")]
    public static partial void ProtocolError(ILogger logger, long connectionId, string error, int closeCode);

    [LoggerMessage(14, LogLevel.Debug, "Connection {ConnectionId} dropped: {Reason}")]
    public static partial void ConnectionTimedOut(ILogger logger, long connectionId, string reason);

    [LoggerMessage(15, LogLevel.Debug, "Connection {ConnectionId} failed in the transport")]
    public static partial void TransportError(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(20, LogLevel.Error, "The handler's {Callback} threw on connection {ConnectionId}")]
    public static partial void HandlerFailed(ILogger logger, string callback, long connectionId, Exception exception);

    [LoggerMessage(21, LogLevel.Warning, "Channel {Channel}: the history could not be read from the broker ({Reason})")]
    public static partial void HistoryUnavailable(ILogger logger, string channel, string reason);
}
