using System.Net;
using System.Net.Http;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Host;

namespace Engine.Tests.HostApp;

/// <summary>The app protocol over real ClientWebSockets: channels, relayed content, binary envelope, bad input, /healthz.</summary>
[Collection(HostAppCollection.Name)]
public sealed class AppProtocolTests
{
    [Fact]
    public async Task Greets_with_the_connection_id_and_answers_an_application_ping()
    {
        await using var server = await AppServer.StartAsync();
        using AppClient client = await server.ConnectAsync();
        Assert.False(string.IsNullOrEmpty(client.Id));
        await client.SendTextAsync("""{"type":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_message_reaches_every_other_subscriber_with_its_raw_content_and_the_server_set_from()
    {
        await using var server = await AppServer.StartAsync();
        using AppClient alice = await server.ConnectAsync();
        using AppClient bob = await server.ConnectAsync();
        using AppClient carol = await server.ConnectAsync();
        using AppClient outsider = await server.ConnectAsync();
        foreach (AppClient client in new[] { alice, bob, carol })
        {
            await client.SendTextAsync("""{"type":"subscribe","channel":"room-1"}""");
            Assert.Equal("""{"type":"subscribed","channel":"room-1"}""", await client.ReceiveTextAsync());
        }

        // Content is relayed byte for byte (1.50 and \u00e9 would change if it were re-serialized); "from" comes from the server.
        const string content = """{ "n": 1.50, "s": "caf\u00e9", "a": [true, null, {"deep": []}] }""";
        await alice.SendTextAsync($$"""{"type":"message","from":"mallory","channel":"room-1","content":{{content}}}""");
        string expected = $$"""{"type":"message","channel":"room-1","content":{{content}},"from":"{{alice.Id}}"}""";
        Assert.Equal(expected, await bob.ReceiveTextAsync());
        Assert.Equal(expected, await carol.ReceiveTextAsync());
        await alice.SendTextAsync("""{"type":"message","channel":"room-1","content":"plain \"text\""}""");
        Assert.Equal($$"""{"type":"message","channel":"room-1","content":"plain \"text\"","from":"{{alice.Id}}"}""", await bob.ReceiveTextAsync());
        Assert.Equal($$"""{"type":"message","channel":"room-1","content":"plain \"text\"","from":"{{alice.Id}}"}""", await carol.ReceiveTextAsync());

        // Not echoed to the sender, nothing to a non-subscriber.
        await alice.ExpectNothingPendingAsync();
        await outsider.ExpectNothingPendingAsync();

        await bob.SendTextAsync("""{"type":"unsubscribe","channel":"room-1"}""");
        Assert.Equal("""{"type":"unsubscribed","channel":"room-1"}""", await bob.ReceiveTextAsync());
        await alice.SendTextAsync("""{"type":"message","channel":"room-1","content":42}""");
        Assert.Equal($$"""{"type":"message","channel":"room-1","content":42,"from":"{{alice.Id}}"}""", await carol.ReceiveTextAsync());
        await bob.ExpectNothingPendingAsync();
        Assert.Equal(2, server.Server.PubSub.SubscriberCount("room-1"));

        // Closing leaves the channel.
        await carol.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        await WaitUntilAsync(() => server.Server.PubSub.SubscriberCount("room-1") == 1);
    }

    [Fact]
    public async Task A_binary_envelope_reaches_other_subscribers_with_the_sender_in_it()
    {
        await using var server = await AppServer.StartAsync();
        using AppClient alice = await server.ConnectAsync();
        using AppClient bob = await server.ConnectAsync();
        foreach (AppClient client in new[] { alice, bob })
        {
            await client.SendTextAsync("""{"type":"subscribe","channel":"media:cam.1"}""");
            await client.ExpectAsync("subscribed");
        }
        byte[] payload = new byte[100_000];
        Random.Shared.NextBytes(payload);
        byte[] channel = "media:cam.1"u8.ToArray();
        await alice.SendAsync([0x01, (byte)channel.Length, .. channel, .. payload], WebSocketMessageType.Binary);

        (WebSocketMessageType type, byte[] received) = await bob.ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Binary, type);
        byte[] from = Encoding.UTF8.GetBytes(alice.Id);
        Assert.Equal([0x02, (byte)channel.Length, .. channel, (byte)from.Length, .. from, .. payload], received);
        await alice.ExpectNothingPendingAsync();
    }

    public static TheoryData<string, string> BadTextMessages => new()
    {
        { "not json", "invalid JSON" },
        { """{"type":"subscribe","channel":"a" """, "invalid JSON" },
        { """{"type":"ping"}{"type":"ping"}""", "invalid JSON" },
        { "[1,2]", "must be a JSON object" },
        { "\"ping\"", "must be a JSON object" },
        { "{}", "missing field: type" },
        { """{"type":42}""", "type must be a string" },
        { """{"type":"dance"}""", "unknown message type" },
        { """{"type":"subscribe"}""", "missing field: channel" },
        { """{"type":"subscribe","channel":""}""", "empty" },
        { """{"type":"subscribe","channel":5}""", "channel must be a string" },
        { $$"""{"type":"subscribe","channel":"{{new string('x', 129)}}"}""", "longer than 128" },
        { """{"type":"subscribe","channel":"a b"}""", "may only contain" },
        { """{"type":"subscribe","channel":"caf\u00e9"}""", "may only contain" },
        { """{"type":"subscribe","channel":"a/b"}""", "may only contain" },
        { """{"type":"unsubscribe"}""", "missing field: channel" },
        { """{"type":"unsubscribe","channel":"never-joined"}""", "not subscribed" },
        { """{"type":"message","channel":"x"}""", "missing field: content" },
        { """{"type":"message","content":1}""", "missing field: channel" },
        { """{"type":"message","channel":"bad channel","content":1}""", "may only contain" },
        { """{"type":"auth","token":"abc"}""", "not enabled" },
        { """{"type":"auth"}""", "missing field: token" },
        { """{"type":"request-file"}""", "missing field: name" },
        { """{"type":"request-file","name":"a.txt"}""", "file transfer disabled" },
    };

    [Theory]
    [MemberData(nameof(BadTextMessages))]
    public async Task Bad_text_input_gets_an_error_and_the_connection_stays_open(string message, string error)
    {
        await using var server = await AppServer.StartAsync();
        using AppClient client = await server.ConnectAsync();
        await client.SendTextAsync(message);
        await client.ExpectErrorAsync(error);
        await client.ExpectNothingPendingAsync();
        Assert.Equal(0, server.Server.PubSub.ChannelCount);
    }

    [Fact]
    public async Task Malformed_binary_envelopes_get_an_error_and_the_connection_stays_open()
    {
        await using var server = await AppServer.StartAsync();
        using AppClient client = await server.ConnectAsync();
        (byte[] Envelope, string Error)[] cases =
        [
            ([], "too short"),
            ([0x01], "too short"),
            ([0x09, 1, (byte)'a'], "unknown binary envelope kind"),
            ([0x02, 1, (byte)'a', 1, (byte)'x'], "unknown binary envelope kind"),
            ([0x01, 5, (byte)'a'], "exceeds"),
            ([0x01, 0, 1, 2, 3], "empty"),
            ([0x01, 1, (byte)' ', 1], "may only contain"),
            ([0x01, 200, .. new byte[300]], "longer than 128"),
        ];
        foreach ((byte[] envelope, string error) in cases)
        {
            await client.SendAsync(envelope, WebSocketMessageType.Binary);
            await client.ExpectErrorAsync(error);
        }
        await client.ExpectNothingPendingAsync();
    }

    [Fact]
    public async Task The_channel_cap_per_connection_is_enforced_and_resubscribing_is_idempotent()
    {
        await using var server = await AppServer.StartAsync(new AppOptions { MaxChannels = 2 });
        using AppClient client = await server.ConnectAsync();
        foreach (string channel in new[] { "c1", "c2", "c1" })
        {
            await client.SendTextAsync($$"""{"type":"subscribe","channel":"{{channel}}"}""");
            await client.ExpectAsync("subscribed");
        }
        await client.SendTextAsync("""{"type":"subscribe","channel":"c3"}""");
        await client.ExpectErrorAsync("too many channels");
        Assert.Equal(0, server.Server.PubSub.SubscriberCount("c3"));
        await client.SendTextAsync("""{"type":"unsubscribe","channel":"c1"}""");
        await client.ExpectAsync("unsubscribed");
        await client.SendTextAsync("""{"type":"subscribe","channel":"c3"}""");
        await client.ExpectAsync("subscribed");
        await client.ExpectNothingPendingAsync();
    }

    [Fact]
    public async Task An_oversized_message_closes_with_1009()
    {
        await using var server = await AppServer.StartAsync(configure: o => o with { MaxMessageSize = 1024 });
        using AppClient client = await server.ConnectAsync();
        await client.SendTextAsync($$"""{"type":"message","channel":"a","content":"{{new string('x', 2000)}}"}""");
        await client.ExpectCloseAsync(1009);
    }

    [Fact]
    public async Task Healthz_reports_connections_and_channels()
    {
        await using var server = await AppServer.StartAsync();
        using AppClient client = await server.ConnectAsync();
        await client.SendTextAsync("""{"type":"subscribe","channel":"a"}""");
        await client.ExpectAsync("subscribed");
        await client.SendTextAsync("""{"type":"subscribe","channel":"b"}""");
        await client.ExpectAsync("subscribed");

        using var http = new HttpClient();
        using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{server.Test.Port}/healthz"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument health = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        Assert.True(health.RootElement.GetProperty("connections").GetInt32() >= 1);
        Assert.Equal(2, health.RootElement.GetProperty("channels").GetInt32());
        using HttpResponseMessage stats = await http.GetAsync(new Uri($"http://127.0.0.1:{server.Test.Port}/stats"));
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
    }

    [Fact]
    public async Task Origins_outside_the_allow_list_get_403()
    {
        await using var server = await AppServer.StartAsync(new AppOptions { AllowedOrigins = ["https://chat.example"] });
        using AppClient allowed = await server.ConnectAsync(origin: "https://CHAT.example");
        using AppClient native = await server.ConnectAsync(); // no Origin: not a browser, nothing cross-site to defend

        using var rejected = new ClientWebSocket();
        rejected.Options.CollectHttpResponseDetails = true;
        rejected.Options.SetRequestHeader("Origin", "https://evil.example");
        await Assert.ThrowsAsync<WebSocketException>(() => rejected.ConnectAsync(server.Uri, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, rejected.HttpStatusCode);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}

/// <summary>
/// The Host app tests run one after another, and apart from every other test: the fan-out (1,000 clients) and file
/// (256 MiB) tests measure time and memory, and would starve the timing-sensitive engine tests on a 2-core machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostAppCollection
{
    public const string Name = "Host app";
}
