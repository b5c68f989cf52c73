using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Engine.Tests.AspNetCore;

/// <summary>
/// WebSockets over HTTP/2 (RFC 8441 extended CONNECT) through the integration, with ClientWebSocket asking for exactly
/// HTTP/2: over TLS (ALPN h2, a test certificate) and over cleartext h2c (prior knowledge). Several WebSockets share one
/// TCP connection, which the server side confirms (Kestrel's connection id seen by the handler).
/// </summary>
public sealed class Http2Tests
{
    public static TheoryData<bool> Tls => new() { true, false };

    [Theory]
    [MemberData(nameof(Tls))]
    public async Task Several_websockets_share_one_http2_connection_with_echo_deflate_and_auth(bool tls)
    {
        using TestCertificate certificate = TestCertificate.Create();
        var handler = new RecordingHandler();
        await using EngineApp app = await EngineApp.StartAsync(handler, tls ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http2,
            tls ? certificate.Certificate : null, o => o with { Compression = new CompressionOptions { Enabled = true } });
        using var http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = certificate.Validator },
        });

        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < 4; i++)
        {
            ClientWebSocket client = Http2Client();
            client.Options.CollectHttpResponseDetails = true;
            client.Options.DangerousDeflateOptions = i % 2 == 0 ? new WebSocketDeflateOptions() : null;
            client.Options.SetRequestHeader("Authorization", "Bearer " + EngineApp.Token("user" + i));
            await client.ConnectAsync(app.WebSocketUri($"/rooms/room{i}?q={i}"), http, CancellationToken.None);
            Assert.Equal(HttpStatusCode.OK, client.HttpStatusCode); // RFC 8441 §5: 200, not 101
            clients.Add(client);
        }

        // Echo on all of them at once: their frames interleave on the one connection.
        byte[] large = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("over HTTP/2, ", 20_000)));
        await Task.WhenAll(clients.Select(async (client, i) =>
        {
            await client.SendAsync("whoami"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            (_, byte[] answer) = await WebSocketMessages.ReceiveAsync(client);
            Assert.Equal($"user{i}|room{i}|{i}|HTTP/2", Encoding.UTF8.GetString(answer));
            await client.SendAsync(large, WebSocketMessageType.Text, true, CancellationToken.None);
            (_, byte[] echo) = await WebSocketMessages.ReceiveAsync(client);
            Assert.Equal(large, echo);
        }));

        RecordingHandler.Seen[] seen = [.. handler.Opened];
        Assert.Equal(4, seen.Length);
        Assert.All(seen, s => Assert.Equal("HTTP/2", s.Protocol));
        Assert.Single(seen.Select(s => s.ConnectionId).Distinct()); // one TCP connection under the four WebSockets
        Assert.Equal(2, seen.Count(s => s.Compressed)); // deflate negotiated by the engine where the client offered it

        foreach (ClientWebSocket client in clients)
        {
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
            client.Dispose();
        }
        await Http11Tests.WaitUntilAsync(() => app.Server.ConnectionCount == 0 && app.Server.OpenWebSocketCount == 0);
        Assert.Equal(4, handler.Closed.Count(c => c.Code == CloseCode.NormalClosure));
        Assert.Equal(0, app.Server.OutstandingBuffers);
    }

    [Fact]
    public async Task Over_http2_authorization_refuses_before_the_handoff_and_stop_sends_1001()
    {
        using TestCertificate certificate = TestCertificate.Create();
        var handler = new RecordingHandler();
        EngineApp app = await EngineApp.StartAsync(handler, HttpProtocols.Http2, certificate.Certificate, shutdownTimeout: TimeSpan.FromSeconds(60));
        using var http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = certificate.Validator },
        });
        using (ClientWebSocket anonymous = Http2Client())
        {
            anonymous.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(app.WebSocketUri("/rooms/lobby"), http, CancellationToken.None));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.HttpStatusCode);
        }
        Assert.Equal(0, Volatile.Read(ref handler.Upgrades));

        using ClientWebSocket client = Http2Client();
        await client.ConnectAsync(app.WebSocketUri("/ws"), http, CancellationToken.None);
        Task stop = app.App.StopAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        WebSocketReceiveResult result = await client.ReceiveAsync(new byte[64], timeout.Token);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        // Without the engine's 1001 first, Kestrel would hold the stream until the 60 s shutdown timeout; 30 s is margin.
        Assert.True(await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(30))) == stop, "the stop waited for Kestrel's timeout");
        await app.App.DisposeAsync();
    }

    public static TheoryData<HttpProtocols> Protocols => new() { HttpProtocols.Http1, HttpProtocols.Http2 };

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task A_client_that_vanishes_mid_message_leaves_nothing_behind(HttpProtocols protocols)
    {
        var handler = new RecordingHandler();
        await using EngineApp app = await EngineApp.StartAsync(handler, protocols);
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        ClientWebSocket client = protocols == HttpProtocols.Http2 ? Http2Client() : new ClientWebSocket();
        await client.ConnectAsync(app.WebSocketUri("/ws"), http, CancellationToken.None);
        // Half a 100 KB message, then gone (HTTP/1.1: the TCP connection; HTTP/2: the stream is reset).
        await client.SendAsync(new byte[50_000], WebSocketMessageType.Binary, false, CancellationToken.None);
        await Http11Tests.WaitUntilAsync(() => app.Server.ConnectionCount == 1);
        client.Abort();
        client.Dispose();
        await Http11Tests.WaitUntilAsync(() => app.Server.ConnectionCount == 0 && app.Server.OpenWebSocketCount == 0);
        Assert.Equal(CloseCode.AbnormalClosure, Assert.Single(handler.Closed).Code);
        await Http11Tests.WaitUntilAsync(() => app.Server.OutstandingBuffers == 0); // the reassembly and receive blocks came back
    }

    [Fact]
    public async Task A_plain_http2_request_to_the_endpoint_gets_426_without_connection_specific_headers()
    {
        await using EngineApp app = await EngineApp.StartAsync(new RecordingHandler(), HttpProtocols.Http2);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(app.BaseUri, "/ws"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using HttpResponseMessage response = await http.SendAsync(request);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.False(response.Headers.Contains("Upgrade")); // RFC 9113 §8.2.2: no connection-specific fields in HTTP/2
    }

    private static ClientWebSocket Http2Client()
    {
        var client = new ClientWebSocket();
        client.Options.HttpVersion = HttpVersion.Version20;
        client.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        return client;
    }
}
