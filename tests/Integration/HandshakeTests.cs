using System.Net.Http;
using System.Net.WebSockets;
using Engine;
using Host;

namespace Engine.Tests.Integration;

/// <summary>The HTTP side over a real socket: each bad request gets its status, hooks see the request.</summary>
public sealed class HandshakeTests
{
    public static TheoryData<string, string> BadRequests => new()
    {
        { RawClient.UpgradeRequest(version: "8"), "HTTP/1.1 426 Upgrade Required" },
        { RawClient.UpgradeRequest(key: "not-base64!"), "HTTP/1.1 400 Bad Request" },
        { RawClient.UpgradeRequest(key: "AAAAAAAAAAAAAAAAAAAAAA=="[..20]), "HTTP/1.1 400 Bad Request" },
        { "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 Bad Request" },
        { "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 405 Method Not Allowed" },
        { "GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported" },
        { "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 Bad Request" },
        { "GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request" },
        { RawClient.UpgradeRequest("X-Big: " + new string('a', 9000) + "\r\n"), "HTTP/1.1 431 Request Header Fields Too Large" },
        { "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 426 Upgrade Required" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_their_status_and_the_connection_closes(string request, string statusLine)
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = await RawClient.ConnectAsync(server.Port);

        await client.SendAsync(request);
        string head = await client.ReadHeadAsync();

        Assert.Equal(statusLine, head.Split("\r\n")[0]);
        if (statusLine.Contains("426"))
        {
            Assert.Contains("Sec-WebSocket-Version: 13", head);
        }
        Assert.True(await client.WaitForEndAsync(TestTimeouts.Hang));
        client.Dispose();
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task A_slow_handshake_is_cut_by_the_timeout()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = await RawClient.ConnectAsync(server.Port);

        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n");

        // A claim: the configured 300 ms cut it, not the 5 s default. The 2.7 s left over covers a loaded box's late
        // tick and FIN many times; the timer wheel never fires early, so there is no lower bound to lose.
        Assert.True(await client.WaitForEndAsync(TimeSpan.FromSeconds(3)));
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task Upgrade_hook_sees_the_request_and_can_reject_or_pick_a_subprotocol()
    {
        var handler = new HookHandler();
        await using var server = await TestServer.StartAsync(handler);

        using (var rejected = new ClientWebSocket())
        {
            rejected.Options.SetRequestHeader("Origin", "https://evil.example");
            var error = await Assert.ThrowsAsync<WebSocketException>(() => rejected.ConnectAsync(new Uri(server.Uri, "/chat?room=1"), CancellationToken.None));
        }
        Assert.Equal("/chat", handler.LastPath);
        Assert.Equal("room=1", handler.LastQuery);

        using var accepted = new ClientWebSocket();
        accepted.Options.SetRequestHeader("Origin", "https://good.example");
        accepted.Options.AddSubProtocol("v1.json");
        accepted.Options.AddSubProtocol("v2.json");
        await accepted.ConnectAsync(server.Uri, CancellationToken.None);
        Assert.Equal("v2.json", accepted.SubProtocol);
        var remote = Assert.IsType<System.Net.IPEndPoint>(handler.LastRemote);
        Assert.Equal(System.Net.IPAddress.Loopback, remote.Address);
        Assert.InRange(remote.Port, 1, 65535);
        Assert.Equal(["v1.json", "v2.json"], handler.LastOffered);
    }

    [Fact]
    public async Task The_connection_reports_the_agreed_subprotocol_also_once_the_server_has_numbered_255_others()
    {
        // A connection keeps its subprotocol as a number of the server's table of names (255 at most); a handler that
        // agrees to whatever its peers offer fills the table, and a name past it is kept by the connection itself.
        var handler = new OfferTakingHandler();
        await using var server = await TestServer.StartAsync(handler);

        for (int i = 0; i <= 256; i++)
        {
            using var client = new ClientWebSocket();
            client.Options.AddSubProtocol($"p{i}");
            await client.ConnectAsync(server.Uri, CancellationToken.None);
            WebSocketConnection connection = await handler.Opened.Reader.ReadAsync();

            Assert.Equal($"p{i}", client.SubProtocol);
            Assert.Equal($"p{i}", handler.SeenInOnOpen.Dequeue());
            Assert.Equal(i >= 255, connection.HoldsExtras); // the first 255 names are numbered
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            Assert.Equal($"p{i}", connection.Subprotocol); // kept after the close too
        }
        await server.AssertDrainedAsync();
    }

    private sealed class OfferTakingHandler : IWebSocketHandler
    {
        public readonly System.Threading.Channels.Channel<WebSocketConnection> Opened = System.Threading.Channels.Channel.CreateUnbounded<WebSocketConnection>();
        public readonly Queue<string?> SeenInOnOpen = new();

        public UpgradeDecision OnUpgrade(RequestHead request) => UpgradeDecision.Accept(request.RequestedSubprotocols[0]);

        public void OnOpen(WebSocketConnection connection)
        {
            SeenInOnOpen.Enqueue(connection.Subprotocol); // read before the channel write below publishes it
            Opened.Writer.TryWrite(connection);
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }

    [Fact]
    public async Task Plain_http_goes_to_the_handler()
    {
        var diagnostics = new DiagnosticsEndpoints();
        await using var server = await TestServer.StartAsync(new EchoHandler(diagnostics));
        diagnostics.Server = server.Server;
        using var http = new HttpClient();

        var health = await http.GetAsync($"http://127.0.0.1:{server.Port}/healthz");
        var missing = await http.GetAsync($"http://127.0.0.1:{server.Port}/nope");

        Assert.Equal(200, (int)health.StatusCode);
        Assert.Equal("application/json", health.Content.Headers.ContentType!.MediaType);
        Assert.Contains("\"status\":\"ok\"", await health.Content.ReadAsStringAsync());
        Assert.Equal(404, (int)missing.StatusCode);
    }

    private sealed class HookHandler : IWebSocketHandler
    {
        public string? LastPath;
        public string? LastQuery;
        public IReadOnlyList<string>? LastOffered;
        public System.Net.EndPoint? LastRemote;

        public UpgradeDecision OnUpgrade(RequestHead request)
        {
            LastRemote = request.RemoteEndPoint;
            LastPath = request.Path;
            LastQuery = request.Query;
            LastOffered = request.RequestedSubprotocols;
            if (request.GetHeader("Origin") != "https://good.example")
            {
                return UpgradeDecision.Reject(403);
            }
            return UpgradeDecision.Accept(LastOffered.Contains("v2.json") ? "v2.json" : null);
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
