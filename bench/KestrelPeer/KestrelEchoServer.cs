using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KestrelPeer;

/// <summary>
/// The reference peer: ASP.NET Core's WebSocket middleware on Kestrel, echoing every message.
/// Used side by side with our engine by the conformance suite and the load benchmark.
/// </summary>
public static class KestrelEchoServer
{
    /// <summary>Starts Kestrel on <paramref name="address"/>:<paramref name="port"/> (port 0 picks a free one) and returns the running app and its port.</summary>
    public static async Task<(WebApplication App, int Port)> StartAsync(IPAddress address, int port, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, port);
            k.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        // Kestrel's own default is 2 minutes of keep-alive pings; no pings here keeps the comparison about echo work.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(EchoAsync);
        await app.StartAsync(cancellationToken);
        var bound = new Uri(app.Urls.First()).Port;
        return (app, bound);
    }

    private static async Task EchoAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        // 16 MiB + headroom: the Autobahn section 9 cases send single messages up to 16 MiB.
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.Empty, result.CloseStatusDescription, CancellationToken.None);
                    return;
                }
                if (result.EndOfMessage && message.Length == 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, true, CancellationToken.None);
                    continue;
                }
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    await socket.SendAsync(message.GetBuffer().AsMemory(0, (int)message.Length), result.MessageType, true, CancellationToken.None);
                    message.SetLength(0);
                }
            }
        }
        catch (WebSocketException)
        {
            // The peer violated the protocol or vanished; ManagedWebSocket has already sent its close.
        }
    }
}
