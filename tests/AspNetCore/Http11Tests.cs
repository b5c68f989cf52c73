using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace Engine.Tests.AspNetCore;

/// <summary>ClientWebSocket over HTTP/1.1 against an ASP.NET Core application that maps the engine.</summary>
public sealed class Http11Tests
{
    [Fact]
    public async Task Echoes_text_and_a_message_larger_than_a_block_and_closes_normally()
    {
        var handler = new RecordingHandler();
        await using EngineApp app = await EngineApp.StartAsync(handler);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(app.WebSocketUri("/ws"), CancellationToken.None);

        await client.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        (WebSocketMessageType type, byte[] payload) = await WebSocketMessages.ReceiveAsync(client);
        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal("hello", Encoding.UTF8.GetString(payload));

        // 200 KB spans many reads of the upgraded stream and several pooled blocks on the way back.
        byte[] large = new byte[200 * 1024];
        Random.Shared.NextBytes(large);
        await client.SendAsync(large, WebSocketMessageType.Binary, true, CancellationToken.None);
        (type, payload) = await WebSocketMessages.ReceiveAsync(client);
        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(large, payload);

        RecordingHandler.Seen seen = Assert.Single(handler.Opened);
        Assert.Equal("HTTP/1.1", seen.Protocol);
        Assert.Equal("/ws", seen.Path);
        Assert.StartsWith("127.0.0.1:", seen.Remote);

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        await WaitUntilAsync(() => app.Server.ConnectionCount == 0 && app.Server.OpenWebSocketCount == 0);
        Assert.Equal((CloseCode.NormalClosure, "bye"), Assert.Single(handler.Closed));
        Assert.Equal(0, app.Server.OutstandingBuffers);
    }

    [Fact]
    public async Task Negotiates_permessage_deflate_and_echoes_compressed_messages()
    {
        var handler = new RecordingHandler();
        await using EngineApp app = await EngineApp.StartAsync(handler, configure: o => o with { Compression = new CompressionOptions { Enabled = true } });
        using var client = new ClientWebSocket();
        client.Options.CollectHttpResponseDetails = true;
        client.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        await client.ConnectAsync(app.WebSocketUri("/ws"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, client.HttpStatusCode);
        string extensions = string.Join(",", client.HttpResponseHeaders!["Sec-WebSocket-Extensions"]);
        Assert.StartsWith("permessage-deflate", extensions);
        byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("compress me, please; ", 3000)));
        for (int i = 0; i < 3; i++) // several messages: the contexts carry over between them
        {
            await client.SendAsync(text, WebSocketMessageType.Text, true, CancellationToken.None);
            (_, byte[] payload) = await WebSocketMessages.ReceiveAsync(client);
            Assert.Equal(text, payload);
        }
        Assert.True(Assert.Single(handler.Opened).Compressed);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task Authorization_refuses_with_401_before_the_handoff_and_the_handler_sees_claims_route_values_and_query()
    {
        var handler = new RecordingHandler();
        await using EngineApp app = await EngineApp.StartAsync(handler);

        using (var anonymous = new ClientWebSocket())
        {
            anonymous.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(app.WebSocketUri("/rooms/lobby"), CancellationToken.None));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.HttpStatusCode);
        }
        using (var forged = new ClientWebSocket())
        {
            forged.Options.CollectHttpResponseDetails = true;
            forged.Options.SetRequestHeader("Authorization", "Bearer " + EngineApp.Token("mallory")[..^4] + "AAAA");
            await Assert.ThrowsAsync<WebSocketException>(() => forged.ConnectAsync(app.WebSocketUri("/rooms/lobby"), CancellationToken.None));
            Assert.Equal(HttpStatusCode.Unauthorized, forged.HttpStatusCode);
        }
        Assert.Equal(0, Volatile.Read(ref handler.Upgrades)); // refused by ASP.NET Core: the engine never saw them

        using var client = new ClientWebSocket();
        client.Options.SetRequestHeader("Authorization", "Bearer " + EngineApp.Token("alice"));
        await client.ConnectAsync(app.WebSocketUri("/rooms/lobby?q=first%20try"), CancellationToken.None);
        await client.SendAsync("whoami"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        (_, byte[] answer) = await WebSocketMessages.ReceiveAsync(client);
        Assert.Equal("alice|lobby|first try|HTTP/1.1", Encoding.UTF8.GetString(answer));
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task The_handler_chooses_a_subprotocol_refuses_with_its_status_and_plain_requests_get_426()
    {
        var handler = new RecordingHandler { Subprotocol = "chat.v2" };
        await using EngineApp app = await EngineApp.StartAsync(handler);
        using (var client = new ClientWebSocket())
        {
            client.Options.AddSubProtocol("chat.v1");
            client.Options.AddSubProtocol("chat.v2");
            await client.ConnectAsync(app.WebSocketUri("/ws"), CancellationToken.None);
            Assert.Equal("chat.v2", client.SubProtocol);
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        using var http = new HttpClient();
        HttpResponseMessage plain = await http.GetAsync(new Uri(app.BaseUri, "/ws"));
        Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);

        var refusing = new RecordingHandler { RejectWith = 403 };
        await using EngineApp closed = await EngineApp.StartAsync(refusing);
        using var refused = new ClientWebSocket();
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(closed.WebSocketUri("/ws"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, refused.HttpStatusCode);
        Assert.Equal(1, Volatile.Read(ref refusing.Upgrades));
        Assert.Equal(0, closed.Server.OpenWebSocketCount); // the refusal released its MaxConnections place
    }

    [Fact]
    public async Task MaxConnections_applies_to_handed_over_connections()
    {
        var handler = new RecordingHandler();
        await using EngineApp app = await EngineApp.StartAsync(handler, configure: o => o with { MaxConnections = 1 });
        using var first = new ClientWebSocket();
        await first.ConnectAsync(app.WebSocketUri("/ws"), CancellationToken.None);
        using var second = new ClientWebSocket();
        second.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => second.ConnectAsync(app.WebSocketUri("/ws"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.HttpStatusCode);
        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await WaitUntilAsync(() => app.Server.OpenWebSocketCount == 0);
        using var third = new ClientWebSocket();
        await third.ConnectAsync(app.WebSocketUri("/ws"), CancellationToken.None); // the place came back
        await third.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Fact]
    public async Task Stopping_the_host_sends_1001_to_every_client_and_does_not_wait_for_the_shutdown_timeout()
    {
        var handler = new RecordingHandler();
        EngineApp app = await EngineApp.StartAsync(handler, shutdownTimeout: TimeSpan.FromSeconds(60));
        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < 3; i++)
        {
            var client = new ClientWebSocket();
            await client.ConnectAsync(app.WebSocketUri("/ws"), CancellationToken.None);
            clients.Add(client);
        }
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        Task stop = app.App.StopAsync();
        foreach (ClientWebSocket client in clients)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            WebSocketReceiveResult result = await client.ReceiveAsync(new byte[64], timeout.Token);
            Assert.Equal(WebSocketMessageType.Close, result.MessageType);
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus); // 1001 Going Away
            await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        await stop;
        // Kestrel alone would hold every upgraded request until the 60 s shutdown timeout and then abort it: the engine
        // closed them first, so the stop ends once the clients answered. 30 s leaves a loaded 2-core box a wide margin.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"stop took {stopwatch.Elapsed}");
        Assert.Equal(3, handler.Closed.Count(c => c.Code == CloseCode.GoingAway));
        foreach (ClientWebSocket client in clients)
        {
            client.Dispose();
        }
        await app.App.DisposeAsync();
    }

    [Fact]
    public async Task Bad_engine_options_fail_the_start_of_the_application()
    {
        var exception = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => EngineApp.StartAsync(new RecordingHandler(), configure: o => o with { MaxMessageSize = 0 }));
        Assert.Contains("MaxMessageSize", exception.Message);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        // 10 s: connection teardown is a few milliseconds; the margin is for a loaded 2-core box.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(condition());
    }
}
