using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Engine.Tests.Support;

namespace Engine.Tests.Backplane;

/// <summary>
/// Three Host processes on one real broker: a publish on A reaches B and C exactly once and in order, a node without
/// subscribers for a channel is not sent the channel's traffic, binary payloads cross intact, a broker restart restores
/// delivery without restarting the nodes, and /readyz answers 503 while the broker is down.
/// </summary>
public sealed class CrossNodeTests
{
    // A window for messages that must not arrive: load can only make it miss one, never fail a correct run.
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task A_publish_reaches_every_other_node_once_and_in_order(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        await using HostNode a = await HostNode.StartAsync(broker.Url);
        await using HostNode b = await HostNode.StartAsync(broker.Url);
        await using HostNode c = await HostNode.StartAsync(broker.Url);
        await using NodeClient publisher = await a.ConnectAsync();
        await using NodeClient onA = await a.ConnectAsync();
        await using NodeClient onB = await b.ConnectAsync();
        await using NodeClient onC = await c.ConnectAsync();

        await onA.SubscribeAsync("room");
        await onB.SubscribeAsync("room");
        await onC.SubscribeAsync("elsewhere");
        // C has no subscriber for "room": it is not subscribed at the broker, so the broker never sends it the traffic.
        await broker.WaitForSubscribersAsync("room", 2);
        await broker.WaitForSubscribersAsync("elsewhere", 1);

        const int count = 200;
        for (int i = 0; i < count; i++)
        {
            await publisher.PublishAsync("room", $$"""{"n":{{i}}}""");
        }
        await ExpectSequenceAsync(onA, "room", 0, count);   // local: exactly once, though A also hears its own publish from the broker
        await ExpectSequenceAsync(onB, "room", 0, count);
        await onA.ExpectNothingAsync(Quiet);
        await onB.ExpectNothingAsync(Quiet);
        await onC.ExpectNothingAsync(TimeSpan.Zero);
        Assert.Equal(0, await c.StatAsync("backplaneReceived"));
        Assert.Equal(count, await b.StatAsync("backplaneReceived"));
        Assert.Equal(0, await a.StatAsync("backplaneReceived")); // its own messages are not delivered twice

        // First local subscriber on C: C subscribes at the broker; then it receives, once and in order.
        await onC.SubscribeAsync("room");
        await broker.WaitForSubscribersAsync("room", 3);
        for (int i = count; i < 2 * count; i++)
        {
            await publisher.PublishAsync("room", $$"""{"n":{{i}}}""");
        }
        await ExpectSequenceAsync(onA, "room", count, count);
        await ExpectSequenceAsync(onB, "room", count, count);
        await ExpectSequenceAsync(onC, "room", count, count);
        await onC.ExpectNothingAsync(Quiet);

        // Last local subscriber off: C leaves the channel at the broker.
        await onC.UnsubscribeAsync("room");
        await broker.WaitForSubscribersAsync("room", 2);
        Assert.Equal(0, await a.StatAsync("backplaneUndelivered"));
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Binary_and_text_payloads_cross_nodes_byte_for_byte(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        await using HostNode a = await HostNode.StartAsync(broker.Url);
        await using HostNode b = await HostNode.StartAsync(broker.Url);
        await using NodeClient publisher = await a.ConnectAsync();
        await using NodeClient onB = await b.ConnectAsync();
        await onB.SubscribeAsync("cam");
        await broker.WaitForSubscribersAsync("cam", 1);

        byte[] payload = [0x00, 0xFF, 0x80, 0x7F, 0x02, 0x01];
        byte[] envelope = [0x01, 3, (byte)'c', (byte)'a', (byte)'m', .. payload];
        await publisher.SendBinaryAsync(envelope);
        var (type, data) = await onB.ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(0x02, data[0]);
        Assert.Equal("cam", Encoding.ASCII.GetString(data, 2, 3));
        int fromLength = data[5];
        Assert.Equal(payload, data[(6 + fromLength)..]);

        // Content relayed byte for byte (never re-serialized): 1.50 stays 1.50, escapes stay escapes.
        const string content = """{"price":1.50,"s":"\u00e9\n"}""";
        await publisher.PublishAsync("cam", content);
        var (textType, text) = await onB.ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Text, textType);
        Assert.Contains("\"content\":" + content, Encoding.UTF8.GetString(text), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Broker_down_keeps_local_delivery_and_counts_then_restart_restores_delivery(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        await using HostNode a = await HostNode.StartAsync(broker.Url);
        await using HostNode b = await HostNode.StartAsync(broker.Url);
        await using NodeClient publisher = await a.ConnectAsync();
        await using NodeClient onA = await a.ConnectAsync();
        await using NodeClient onB = await b.ConnectAsync();
        await onA.SubscribeAsync("ops");
        await onB.SubscribeAsync("ops");
        await broker.WaitForSubscribersAsync("ops", 2);
        // Broker-down detection and reconnection take a few seconds by design (the clients' keep-alives and back-off):
        // the 15 s and 30 s below are hang bounds sized above those, and hold on a loaded 2-core box.
        await a.WaitForHealthAsync("ok", TimeSpan.FromSeconds(10));

        await publisher.PublishAsync("ops", "1");
        await ExpectContentAsync(onA, "1");
        await ExpectContentAsync(onB, "1");

        await broker.StopAsync();
        await a.WaitForHealthAsync("degraded", TimeSpan.FromSeconds(15));
        await publisher.PublishAsync("ops", "2");
        await ExpectContentAsync(onA, "2");           // local delivery goes on
        await onB.ExpectNothingAsync(Quiet);          // it could not cross...
        await WaitForAsync(async () => await a.StatAsync("backplaneUndelivered") >= 1, "the lost message is counted");

        await broker.StartAsync();
        await a.WaitForHealthAsync("ok", TimeSpan.FromSeconds(30));
        await b.WaitForHealthAsync("ok", TimeSpan.FromSeconds(30));
        await broker.WaitForSubscribersAsync("ops", 2);  // subscriptions restored by the nodes themselves
        await publisher.PublishAsync("ops", "3");
        await ExpectContentAsync(onA, "3");
        await ExpectContentAsync(onB, "3");
        await onB.ExpectNothingAsync(Quiet);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Readyz_answers_503_with_the_reason_while_the_broker_is_down_and_200_once_it_is_back(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        await using HostNode a = await HostNode.StartAsync(broker.Url);
        // The margins below are the ones the broker-down test uses: the clients notice a dead broker within a few
        // seconds and reconnect with a back-off of up to a few seconds; 15 s and 30 s hold on a loaded 2-core box.
        Assert.Equal("""{"status":"ready","reasons":[]}""", await a.WaitForReadinessAsync(200, TimeSpan.FromSeconds(10)));

        await broker.StopAsync();
        string notReady = await a.WaitForReadinessAsync(503, TimeSpan.FromSeconds(15));
        using (JsonDocument body = JsonDocument.Parse(notReady))
        {
            Assert.Equal("not-ready", body.RootElement.GetProperty("status").GetString());
            string[] reasons = [.. body.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)];
            Assert.Equal([$"backplane disconnected ({new Uri(broker.Url).Scheme}://{new Uri(broker.Url).Authority})"], reasons);
        }
        Assert.Equal("degraded", await a.HealthAsync()); // alive all the same: /healthz stays 200

        await broker.StartAsync();
        Assert.Equal("""{"status":"ready","reasons":[]}""", await a.WaitForReadinessAsync(200, TimeSpan.FromSeconds(30)));
        Assert.Equal("ok", await a.HealthAsync());
    }

    [Fact]
    public async Task A_message_over_the_NATS_max_payload_stays_local_and_is_counted_and_the_connection_stays_up()
    {
        await using Broker broker = await Broker.StartAsync("nats");
        await using HostNode a = await HostNode.StartAsync(broker.Url);
        await using HostNode b = await HostNode.StartAsync(broker.Url);
        await using NodeClient publisher = await a.ConnectAsync();
        await using NodeClient onA = await a.ConnectAsync();
        await using NodeClient onB = await b.ConnectAsync();
        await onA.SubscribeAsync("big");
        await onB.SubscribeAsync("big");
        await broker.WaitForSubscribersAsync("big", 2);

        // nats-server refuses payloads over 1 MiB (max_payload) and would drop a client that sent one; the NATS client
        // refuses it first, so the node keeps its connection and the message is counted as not crossing.
        string large = "\"" + new string('x', 1_100_000) + "\"";
        await publisher.PublishAsync("big", large);
        await ExpectContentAsync(onA, large);
        await WaitForAsync(async () => await a.StatAsync("backplaneUndelivered") == 1, "the oversized message is counted");
        await publisher.PublishAsync("big", "2");
        await ExpectContentAsync(onA, "2");
        await ExpectContentAsync(onB, "2");
        await onB.ExpectNothingAsync(Quiet);
        Assert.Equal("ok", await a.HealthAsync());
    }

    private static async Task ExpectSequenceAsync(NodeClient client, string channel, int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            using JsonDocument message = await client.ReceiveJsonAsync();
            JsonElement root = message.RootElement;
            Assert.Equal("message", root.GetProperty("type").GetString());
            Assert.Equal(channel, root.GetProperty("channel").GetString());
            Assert.Equal(i, root.GetProperty("content").GetProperty("n").GetInt32());
        }
    }

    private static async Task ExpectContentAsync(NodeClient client, string content)
    {
        using JsonDocument message = await client.ReceiveJsonAsync();
        Assert.Equal(content, message.RootElement.GetProperty("content").GetRawText());
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting: " + what);
            await Task.Delay(50);
        }
    }
}
