using System.Buffers;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Engine.AspNetCore;

/// <summary>
/// The request delegate of a mapped endpoint: has the engine decide the request, answers it through Kestrel (101 with the
/// accept key over HTTP/1.1, 200 over HTTP/2), and runs the connection on the stream Kestrel returns until it is over.
/// </summary>
internal static class EngineWebSocketsEndpoint
{
    public static async Task HandleAsync(HttpContext context)
    {
        WebSocketServer server = context.RequestServices.GetRequiredService<WebSocketServer>();
        IHttpExtendedConnectFeature? connect = context.Features.Get<IHttpExtendedConnectFeature>();
        IHttpUpgradeFeature? upgrade = context.Features.Get<IHttpUpgradeFeature>();
        // RFC 8441 §4: an extended CONNECT names the protocol in :protocol; over HTTP/1.1 Kestrel says whether the
        // request asks to upgrade at all (the engine checks that it is a valid WebSocket upgrade).
        bool extendedConnect = connect?.IsExtendedConnect == true;
        bool webSocket = extendedConnect
            ? string.Equals(connect!.Protocol, "websocket", StringComparison.OrdinalIgnoreCase)
            : upgrade?.IsUpgradableRequest == true;
        if (!webSocket)
        {
            if (extendedConnect)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest; // a CONNECT for another protocol
                return;
            }
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            if (HttpProtocol.IsHttp11(context.Request.Protocol))
            {
                context.Response.Headers.Upgrade = "websocket"; // connection-specific: not allowed in an HTTP/2 response
            }
            return;
        }
        UpgradeHandoff handoff = Begin(server, context, extendedConnect);
        if (!handoff.IsAccepted)
        {
            context.Response.StatusCode = handoff.Status;
            return;
        }
        IHeaderDictionary headers = context.Response.Headers;
        if (handoff.Subprotocol is { } subprotocol)
        {
            headers.SecWebSocketProtocol = subprotocol;
        }
        if (handoff.Extensions is { } extensions)
        {
            headers.SecWebSocketExtensions = extensions;
        }
        Stream stream;
        try
        {
            if (extendedConnect)
            {
                // Over HTTP/2 the WebSocket is the request body: its size and minimum-rate limits would end a long-lived
                // or quiet connection (the engine has its own limits, heartbeat and idle timeout).
                if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
                {
                    size.MaxRequestBodySize = null;
                }
                if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
                {
                    rate.MinDataRate = null;
                }
                stream = await connect!.AcceptAsync().ConfigureAwait(false); // 200; no Sec-WebSocket-Accept (RFC 8441 §5)
            }
            else
            {
                headers.Connection = "Upgrade";
                headers.Upgrade = "websocket";
                headers.SecWebSocketAccept = handoff.AcceptKey;
                stream = await upgrade!.UpgradeAsync().ConfigureAwait(false); // 101
            }
        }
        catch
        {
            handoff.Cancel();
            throw;
        }
        await handoff.RunAsync(stream).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the request head in HTTP/1.1 form (what <see cref="WebSocketServer.BeginUpgrade"/> reads) into a pooled
    /// buffer and has the engine decide it. Headers are written as Kestrel parsed them (Latin-1); HTTP/2 pseudo-headers
    /// are not headers there, and the target is the raw one the client sent.
    /// </summary>
    private static UpgradeHandoff Begin(WebSocketServer server, HttpContext context, bool extendedConnect)
    {
        HttpRequest request = context.Request;
        string target = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw
            ? raw
            : request.PathBase + request.Path + request.QueryString;
        // The engine's head parser reads HTTP/<digit>.<digit>; Kestrel names the later versions without the minor one.
        string version = request.Protocol switch
        {
            "HTTP/2" => "HTTP/2.0",
            "HTTP/3" => "HTTP/3.0",
            string protocol => protocol,
        };
        int length = request.Method.Length + target.Length + version.Length + 4 + 2;
        foreach (KeyValuePair<string, StringValues> header in request.Headers)
        {
            foreach (string? value in header.Value)
            {
                length += header.Key.Length + (value?.Length ?? 0) + 4; // an upper bound: pseudo-headers are skipped below
            }
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int position = 0;
            position += Encoding.Latin1.GetBytes(request.Method, buffer.AsSpan(position));
            buffer[position++] = (byte)' ';
            position += Encoding.Latin1.GetBytes(target, buffer.AsSpan(position));
            buffer[position++] = (byte)' ';
            position += Encoding.Latin1.GetBytes(version, buffer.AsSpan(position));
            position = NewLine(buffer, position);
            foreach (KeyValuePair<string, StringValues> header in request.Headers)
            {
                if (header.Key.StartsWith(':'))
                {
                    continue; // an HTTP/2 pseudo-header, should a server list one: not a header, and not a token
                }
                foreach (string? value in header.Value)
                {
                    position += Encoding.Latin1.GetBytes(header.Key, buffer.AsSpan(position));
                    buffer[position++] = (byte)':';
                    buffer[position++] = (byte)' ';
                    position += Encoding.Latin1.GetBytes(value ?? "", buffer.AsSpan(position));
                    position = NewLine(buffer, position);
                }
            }
            position = NewLine(buffer, position);
            ConnectionInfo connection = context.Connection;
            EndPoint? remote = connection.RemoteIpAddress is { } address ? new IPEndPoint(address, connection.RemotePort) : null;
            return server.BeginUpgrade(buffer.AsSpan(0, position), extendedConnect, remote, context);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int NewLine(byte[] buffer, int position)
    {
        buffer[position] = (byte)'\r';
        buffer[position + 1] = (byte)'\n';
        return position + 2;
    }
}
