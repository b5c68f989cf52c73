using System.Net;
using KestrelPeer;
using Microsoft.AspNetCore.Builder;

namespace Conformance.Peers;

/// <summary>The reference peer: ASP.NET Core's WebSocket middleware on Kestrel (bench/KestrelPeer), graded for comparison only.</summary>
public sealed class KestrelPeerServer : IPeerServer
{
    public const string AgentName = "Kestrel";

    private readonly WebApplication _app;

    private KestrelPeerServer(WebApplication app, int port)
    {
        _app = app;
        Url = new Uri($"ws://127.0.0.1:{port}/");
    }

    public string Agent => AgentName;
    public Uri Url { get; }

    public static async Task<KestrelPeerServer> StartAsync()
    {
        // Compression on, so sections 12 and 13 negotiate permessage-deflate with it (other sections never offer it).
        var (app, port) = await KestrelEchoServer.StartAsync(IPAddress.Loopback, 0, broadcast: false, certificate: null, compression: true);
        return new KestrelPeerServer(app, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
