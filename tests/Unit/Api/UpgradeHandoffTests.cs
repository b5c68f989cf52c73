using System.Text;

namespace Engine.Tests.Unit.Api;

/// <summary>
/// WebSocketServer.BeginUpgrade: the decision for a request another HTTP server parsed, on a server that listens nowhere
/// (Listen = false, so no socket is opened). RunAsync is exercised against Kestrel in tests/AspNetCore.
/// </summary>
public sealed class UpgradeHandoffTests
{
    private const string Http11 =
        "GET /chat?room=1 HTTP/1.1|Host: server.example.com|Upgrade: websocket|Connection: Upgrade|" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==|Sec-WebSocket-Version: 13";

    private const string Http2 = "CONNECT /chat HTTP/2.0|Host: server.example.com|Sec-WebSocket-Version: 13";

    private static byte[] Head(string lines) => Encoding.ASCII.GetBytes(lines.Replace("|", "\r\n", StringComparison.Ordinal) + "\r\n\r\n");

    public static TheoryData<string, bool, int> Requests => new()
    {
        { Http11, false, 101 },
        { Http11 + "|Sec-WebSocket-Version: 13", false, 426 },          // the version twice
        { Http11.Replace("GET", "POST", StringComparison.Ordinal), false, 405 },
        { Http11.Replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==|", "", StringComparison.Ordinal), false, 400 },
        { "GET /chat HTTP/1.1|Host: a", false, 426 },                   // not an upgrade at all
        { Http2, true, 101 },
        { Http2.Replace("13", "8", StringComparison.Ordinal), true, 426 },
        { "CONNECT /chat HTTP/2.0|Host: a", true, 400 },              // RFC 8441 §5 keeps Sec-WebSocket-Version
        { Http11, true, 101 },                                          // an extended CONNECT ignores the HTTP/1.1 headers
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Decides_like_the_engines_own_handshake(string lines, bool extendedConnect, int status)
    {
        var handler = new Handler();
        await using WebSocketServer server = await StartAsync(handler);
        UpgradeHandoff handoff = server.BeginUpgrade(Head(lines), extendedConnect);
        Assert.Equal(status, handoff.Status);
        Assert.Equal(status == 101, handoff.IsAccepted);
        // RFC 6455 §1.3's example key and answer; none over HTTP/2 (RFC 8441 §5).
        Assert.Equal(status == 101 && !extendedConnect ? "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" : null, handoff.AcceptKey);
        Assert.Equal(status == 101 ? 1 : 0, handler.Upgrades);
        handoff.Cancel();
        Assert.Equal(0, server.OpenWebSocketCount);
    }

    [Fact]
    public async Task Negotiates_deflate_and_the_subprotocol_and_shows_the_context_and_peer_to_the_handler()
    {
        var handler = new Handler { Subprotocol = "b" };
        await using WebSocketServer server = await StartAsync(handler, new CompressionOptions { Enabled = true });
        var context = new object();
        var peer = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4242);
        UpgradeHandoff handoff = server.BeginUpgrade(
            Head(Http2 + "|Sec-WebSocket-Protocol: a, b|Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"), true, peer, context);
        Assert.True(handoff.IsAccepted);
        Assert.Equal("b", handoff.Subprotocol);
        Assert.StartsWith("permessage-deflate", handoff.Extensions);
        Assert.Same(context, handler.Context);
        Assert.Equal(peer, handler.Remote);
        Assert.Equal("/chat", handler.Path);
        handoff.Cancel();
    }

    [Fact]
    public async Task A_refusal_or_a_bad_subprotocol_holds_no_place_and_an_accepted_one_holds_it_until_cancelled()
    {
        var handler = new Handler();
        await using WebSocketServer server = await StartAsync(handler, maxConnections: 1);
        UpgradeHandoff first = server.BeginUpgrade(Head(Http11), false);
        Assert.True(first.IsAccepted);
        Assert.Equal(1, server.OpenWebSocketCount);
        Assert.Equal(503, server.BeginUpgrade(Head(Http11), false).Status); // MaxConnections
        first.Cancel();
        first.Cancel(); // idempotent: the place is released once
        Assert.Equal(0, server.OpenWebSocketCount);
        Assert.Throws<InvalidOperationException>(() => { _ = first.RunAsync(Stream.Null); }); // cancelled: it never runs

        handler.Subprotocol = "not-offered";
        Assert.Equal(500, server.BeginUpgrade(Head(Http11), false).Status); // §4.2.2: an application bug
        Assert.Equal(0, server.OpenWebSocketCount);
        handler.Subprotocol = null;
        handler.Reject = 403;
        Assert.Equal(403, server.BeginUpgrade(Head(Http11), false).Status);
        Assert.Equal(0, server.OpenWebSocketCount);
        Assert.Equal(400, server.BeginUpgrade(Head(Http11).AsSpan(0, 20), false).Status); // no blank line: an incomplete head
    }

    [Fact]
    public async Task A_server_that_is_not_running_refuses_with_503()
    {
        await using var server = new WebSocketServer(new WebSocketServerOptions { Listen = false }, new Handler());
        Assert.Equal(503, server.BeginUpgrade(Head(Http11), false).Status);
    }

    private static async Task<WebSocketServer> StartAsync(Handler handler, CompressionOptions? compression = null, int maxConnections = 0)
    {
        var server = new WebSocketServer(new WebSocketServerOptions
        {
            Listen = false,
            MaxConnections = maxConnections,
            Compression = compression ?? new CompressionOptions(),
        }, handler);
        await server.StartAsync();
        return server;
    }

    private sealed class Handler : IWebSocketHandler
    {
        public int Upgrades;

        public string? Subprotocol { get; set; }

        public int Reject { get; set; }

        public object? Context { get; private set; }

        public System.Net.EndPoint? Remote { get; private set; }

        public string? Path { get; private set; }

        public UpgradeDecision OnUpgrade(RequestHead request)
        {
            Upgrades++;
            Context = request.Context;
            Remote = request.RemoteEndPoint;
            Path = request.Path;
            return Reject != 0 ? UpgradeDecision.Reject(Reject) : UpgradeDecision.Accept(Subprotocol);
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
