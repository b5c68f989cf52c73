using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KestrelPeer;

/// <summary>
/// The reference peer: ASP.NET Core's WebSocket middleware on Kestrel, echoing every message
/// (or, in broadcast mode, relaying each message to every other connected client).
/// Used side by side with our engine by the conformance suite and the load benchmark.
/// </summary>
public static class KestrelEchoServer
{
    private static readonly ConcurrentDictionary<long, Subscriber> Connected = new();
    private static long nextId;
    private static int connections;
    private const int SmallBuffer = 4 * 1024;
    private const int LargeBuffer = 64 * 1024;

    /// <summary>Starts Kestrel on <paramref name="address"/>:<paramref name="port"/> (port 0 picks a free one) and returns the running app and its port.</summary>
    public static Task<(WebApplication App, int Port)> StartAsync(IPAddress address, int port, CancellationToken cancellationToken = default)
        => StartAsync(address, port, broadcast: false, cancellationToken);

    /// <summary>
    /// Starts Kestrel as <see cref="StartAsync(IPAddress, int, CancellationToken)"/> does; with <paramref name="broadcast"/>
    /// every message received from one client is sent to all other connected clients instead of echoed.
    /// <c>GET /stats</c> returns allocation, heap and connection counters as JSON in both modes.
    /// </summary>
    public static Task<(WebApplication App, int Port)> StartAsync(IPAddress address, int port, bool broadcast, CancellationToken cancellationToken = default)
        => StartAsync(address, port, broadcast, certificate: null, cancellationToken);

    /// <summary>
    /// As above; with a <paramref name="certificate"/> (holding its private key) Kestrel serves wss:// through its own
    /// HTTPS connection middleware (<c>UseHttps</c>), as an ASP.NET Core application would.
    /// </summary>
    public static Task<(WebApplication App, int Port)> StartAsync(IPAddress address, int port, bool broadcast, X509Certificate2? certificate, CancellationToken cancellationToken = default)
        => StartAsync(address, port, broadcast, certificate, compression: false, cancellationToken);

    /// <summary>
    /// As above; with <paramref name="compression"/> the middleware accepts permessage-deflate offers
    /// (<see cref="WebSocketAcceptContext.DangerousEnableCompression"/>, ASP.NET Core's defaults: context takeover, 15-bit windows).
    /// </summary>
    public static async Task<(WebApplication App, int Port)> StartAsync(IPAddress address, int port, bool broadcast, X509Certificate2? certificate, bool compression, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, port, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
            k.Limits.MaxRequestBodySize = null;
            // The load benchmark holds 15,000 idle connections; Kestrel's default limits are unbounded, stated here for the reader.
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MaxConcurrentUpgradedConnections = null;
        });
        var app = builder.Build();
        // Kestrel's own default is 2 minutes of keep-alive pings; no pings here keeps the comparison about echo work.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        var accept = new WebSocketAcceptContext { DangerousEnableCompression = compression };
        app.Run(context => HandleAsync(context, broadcast, accept));
        await app.StartAsync(cancellationToken);
        var bound = new Uri(app.Urls.First()).Port;
        return (app, bound);
    }

    /// <summary>WebSockets open through <see cref="HandleAsync"/> (bench/AspNetCorePeer's /stats adds them to the engine's).</summary>
    public static int Connections => Volatile.Read(ref connections);

    /// <summary>The echo or broadcast endpoint (bench/AspNetCorePeer maps it beside the engine, on the same port).</summary>
    public static Task HandleAsync(HttpContext context, bool broadcast, WebSocketAcceptContext accept)
    {
        if (context.WebSockets.IsWebSocketRequest)
        {
            return broadcast ? RelayAsync(context, accept) : EchoAsync(context, accept);
        }
        if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/stats")
        {
            return WriteStatsAsync(context);
        }
        context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
        return Task.CompletedTask;
    }

    private static Task WriteStatsAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        var json = $"{{\"allocatedBytes\":{GC.GetTotalAllocatedBytes(precise: true)},\"managedHeap\":{GC.GetTotalMemory(false)},\"connections\":{Volatile.Read(ref connections)}}}";
        return context.Response.WriteAsync(json);
    }

    private static async Task EchoAsync(HttpContext context, WebSocketAcceptContext accept)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync(accept);
        Interlocked.Increment(ref connections);
        // The ASP.NET Core samples' 4 KiB to start with, so 15,000 idle connections are not charged 64 KiB each;
        // a connection that sends a message too big for it moves to 64 KiB reads (messages of any size are assembled below,
        // up to the 16 MiB of the Autobahn section 9 cases).
        var buffer = new byte[SmallBuffer];
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
                if (!result.EndOfMessage && buffer.Length == SmallBuffer)
                {
                    buffer = new byte[LargeBuffer];
                }
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
        finally
        {
            Interlocked.Decrement(ref connections);
        }
    }

    /// <summary>
    /// Broadcast the way an ASP.NET Core application naturally does it: a registry of sockets and a loop of SendAsync
    /// over it. The per-socket lock is there because a WebSocket allows one outstanding send, and two publishers
    /// may relay to the same subscriber at once.
    /// </summary>
    private static async Task RelayAsync(HttpContext context, WebSocketAcceptContext accept)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync(accept);
        var self = new Subscriber(socket);
        var id = Interlocked.Increment(ref nextId);
        Connected[id] = self;
        Interlocked.Increment(ref connections);
        var buffer = new byte[SmallBuffer];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Connected.TryRemove(id, out _);
                    await self.SendLock.WaitAsync();
                    try
                    {
                        await socket.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.Empty, result.CloseStatusDescription, CancellationToken.None);
                    }
                    finally
                    {
                        self.SendLock.Release();
                    }
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }
                var payload = message.GetBuffer().AsMemory(0, (int)message.Length);
                foreach (var (otherId, other) in Connected)
                {
                    if (otherId == id)
                    {
                        continue;
                    }
                    await other.SendLock.WaitAsync();
                    try
                    {
                        if (other.Socket.State == WebSocketState.Open)
                        {
                            await other.Socket.SendAsync(payload, result.MessageType, true, CancellationToken.None);
                        }
                    }
                    catch (WebSocketException)
                    {
                        // That subscriber vanished; its own receive loop removes it.
                    }
                    finally
                    {
                        other.SendLock.Release();
                    }
                }
                message.SetLength(0);
            }
        }
        catch (WebSocketException)
        {
            // The peer violated the protocol or vanished; ManagedWebSocket has already sent its close.
        }
        finally
        {
            Connected.TryRemove(id, out _);
            Interlocked.Decrement(ref connections);
        }
    }

    private sealed class Subscriber(WebSocket socket)
    {
        public WebSocket Socket { get; } = socket;
        public SemaphoreSlim SendLock { get; } = new(1, 1);
    }
}
