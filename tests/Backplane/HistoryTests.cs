using System.Text.Json;

namespace Engine.Tests.Backplane;

/// <summary>
/// Channel history kept in the broker (WS_HISTORY_SIZE): every node delivers a channel's messages with the same
/// gap-free offsets in the same order, and a client that re-subscribes after a reconnect with its last offset gets
/// exactly what it missed, or <c>recovered:false</c> when the history no longer reaches back.
/// </summary>
public sealed class HistoryTests
{
    // A window for messages that must not arrive: load can only make it miss one, never fail a correct run.
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Recovery_after_a_reconnect_delivers_exactly_the_missed_messages(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        var history = new Dictionary<string, string> { ["WS_HISTORY_SIZE"] = "100" };
        await using HostNode a = await HostNode.StartAsync(broker.Url, history);
        await using HostNode b = await HostNode.StartAsync(broker.Url, history);
        await using NodeClient publisher = await a.ConnectAsync();
        await using NodeClient onA = await a.ConnectAsync();
        (long start, string epoch) = await SubscribeAsync(onA, "news");
        Assert.Equal(0, start); // a new channel's history begins at 0

        NodeClient reader = await b.ConnectAsync();
        (long readerStart, string readerEpoch) = await SubscribeAsync(reader, "news");
        Assert.Equal((0L, epoch), (readerStart, readerEpoch)); // one history for every node
        for (int n = 0; n < 5; n++)
        {
            await publisher.PublishAsync("news", $$"""{"n":{{n}}}""");
        }
        await ExpectMessagesAsync(onA, first: 0, count: 5, firstOffset: 1);
        long lastSeen = await ExpectMessagesAsync(reader, first: 0, count: 5, firstOffset: 1);
        Assert.Equal(5, lastSeen);
        await reader.DisposeAsync(); // the connection drops

        for (int n = 5; n < 12; n++)
        {
            await publisher.PublishAsync("news", $$"""{"n":{{n}}}""");
        }
        await ExpectMessagesAsync(onA, first: 5, count: 7, firstOffset: 6); // all 12 are in the history now

        // Back, on the other node: the missed 7 first, in order, then `subscribed` (recovered), then live ones only.
        await using NodeClient back = await b.ConnectAsync();
        await back.SendJsonAsync($$"""{"type":"subscribe","channel":"news","offset":{{lastSeen}},"epoch":"{{epoch}}"}""");
        await ExpectMessagesAsync(back, first: 5, count: 7, firstOffset: 6);
        using (JsonDocument subscribed = await back.ReceiveJsonAsync())
        {
            JsonElement root = subscribed.RootElement;
            Assert.Equal("subscribed", root.GetProperty("type").GetString());
            Assert.True(root.GetProperty("recovered").GetBoolean());
            Assert.Equal(12, root.GetProperty("offset").GetInt64());
            Assert.Equal(epoch, root.GetProperty("epoch").GetString());
        }
        await back.ExpectNothingAsync(Quiet); // nothing twice
        await publisher.PublishAsync("news", """{"n":12}""");
        await ExpectMessagesAsync(back, first: 12, count: 1, firstOffset: 13);
        await ExpectMessagesAsync(onA, first: 12, count: 1, firstOffset: 13);
        await back.ExpectNothingAsync(Quiet);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Recovered_is_false_when_the_history_no_longer_reaches_back_or_is_another_epoch(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        await using HostNode a = await HostNode.StartAsync(broker.Url, new Dictionary<string, string> { ["WS_HISTORY_SIZE"] = "3" });
        await using NodeClient publisher = await a.ConnectAsync();
        await using NodeClient onA = await a.ConnectAsync();
        (long start, string epoch) = await SubscribeAsync(onA, "ticks");
        for (int n = 0; n < 6; n++)
        {
            await publisher.PublishAsync("ticks", $$"""{"n":{{n}}}""");
        }
        await ExpectMessagesAsync(onA, first: 0, count: 6, firstOffset: 1);

        // Offsets 1-3 were trimmed (only the last 3 are kept): the retained 4-6 come, flagged as incomplete.
        await using NodeClient late = await a.ConnectAsync();
        await late.SendJsonAsync($$"""{"type":"subscribe","channel":"ticks","offset":{{start}},"epoch":"{{epoch}}"}""");
        await ExpectMessagesAsync(late, first: 3, count: 3, firstOffset: 4);
        await ExpectSubscribedAsync(late, recovered: false, offset: 6);

        // An epoch from another history: its offsets mean nothing here, so nothing is replayed.
        await using NodeClient stranger = await a.ConnectAsync();
        await stranger.SendJsonAsync("""{"type":"subscribe","channel":"ticks","offset":2,"epoch":"not-this-one"}""");
        await ExpectSubscribedAsync(stranger, recovered: false, offset: 6);
        await stranger.ExpectNothingAsync(Quiet);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Every_node_delivers_the_same_gap_free_offsets_in_the_same_order(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        var history = new Dictionary<string, string> { ["WS_HISTORY_SIZE"] = "1000" };
        await using HostNode a = await HostNode.StartAsync(broker.Url, history);
        await using HostNode b = await HostNode.StartAsync(broker.Url, history);
        await using HostNode c = await HostNode.StartAsync(broker.Url, history);
        await using NodeClient onA = await a.ConnectAsync();
        await using NodeClient onB = await b.ConnectAsync();
        await using NodeClient onC = await c.ConnectAsync();
        foreach (NodeClient client in (NodeClient[])[onA, onB, onC])
        {
            await SubscribeAsync(client, "mix");
        }
        await using NodeClient fromA = await a.ConnectAsync();
        await using NodeClient fromB = await b.ConnectAsync();

        // Two publishers on two nodes, interleaved without waiting: the broker decides one order for everyone.
        const int each = 100;
        await Task.WhenAll(PublishAsync(fromA, "a"), PublishAsync(fromB, "b"));
        List<string>[] seen = await Task.WhenAll(ReadAllAsync(onA), ReadAllAsync(onB), ReadAllAsync(onC));
        Assert.Equal(seen[0], seen[1]);
        Assert.Equal(seen[0], seen[2]);
        // Each publisher's own messages keep their publish order inside the common one.
        Assert.Equal(Enumerable.Range(0, each).Select(i => $"a{i}"), seen[0].Where(s => s[0] == 'a'));
        Assert.Equal(Enumerable.Range(0, each).Select(i => $"b{i}"), seen[0].Where(s => s[0] == 'b'));

        async Task PublishAsync(NodeClient client, string tag)
        {
            for (int i = 0; i < each; i++)
            {
                await client.PublishAsync("mix", $$"""{"s":"{{tag}}{{i}}"}""");
            }
        }

        async Task<List<string>> ReadAllAsync(NodeClient client)
        {
            var order = new List<string>();
            for (int offset = 1; offset <= 2 * each; offset++)
            {
                using JsonDocument message = await client.ReceiveJsonAsync();
                Assert.Equal(offset, message.RootElement.GetProperty("offset").GetInt64()); // gap-free, each once
                order.Add(message.RootElement.GetProperty("content").GetProperty("s").GetString()!);
            }
            await client.ExpectNothingAsync(Quiet);
            return order;
        }
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Broker_restart_keeps_local_delivery_without_offsets_then_numbered_delivery_resumes_on_every_node(string kind)
    {
        await using Broker broker = await Broker.StartAsync(kind);
        var history = new Dictionary<string, string> { ["WS_HISTORY_SIZE"] = "100" };
        await using HostNode a = await HostNode.StartAsync(broker.Url, history);
        await using HostNode b = await HostNode.StartAsync(broker.Url, history);
        await using NodeClient publisher = await a.ConnectAsync();
        await using NodeClient onA = await a.ConnectAsync();
        await using NodeClient onB = await b.ConnectAsync();
        (_, string epoch) = await SubscribeAsync(onA, "live");
        await SubscribeAsync(onB, "live");
        for (int n = 0; n < 3; n++)
        {
            await publisher.PublishAsync("live", $$"""{"n":{{n}}}""");
        }
        await ExpectMessagesAsync(onA, first: 0, count: 3, firstOffset: 1);
        await ExpectMessagesAsync(onB, first: 0, count: 3, firstOffset: 1);

        await broker.StopAsync();
        // Hang bounds above the few seconds that broker-down detection and reconnection take by design.
        await a.WaitForHealthAsync("degraded", TimeSpan.FromSeconds(15));
        await publisher.PublishAsync("live", """{"n":100}""");
        using (JsonDocument local = await onA.ReceiveJsonAsync())
        {
            // Delivered on its own node at once, without an offset: it is in no history.
            Assert.Equal(100, local.RootElement.GetProperty("content").GetProperty("n").GetInt32());
            Assert.False(local.RootElement.TryGetProperty("offset", out _));
        }
        await onB.ExpectNothingAsync(Quiet);

        await broker.StartAsync();
        await a.WaitForHealthAsync("ok", TimeSpan.FromSeconds(30));
        await b.WaitForHealthAsync("ok", TimeSpan.FromSeconds(30));
        // nats-server keeps its streams on disk (-sd): the same history goes on. This redis-server keeps nothing
        // (--save ''): the channel's history begins again, with a new epoch.
        bool kept = kind == "nats";
        if (!kept)
        {
            await broker.WaitForSubscribersAsync("h:live", 2); // Redis: the nodes' subscriptions are back
        }
        for (int n = 3; n < 6; n++)
        {
            await publisher.PublishAsync("live", $$"""{"n":{{n}}}""");
        }
        long firstOffset = kept ? 4 : 1;
        await ExpectMessagesAsync(onA, first: 3, count: 3, firstOffset: firstOffset);
        await ExpectMessagesAsync(onB, first: 3, count: 3, firstOffset: firstOffset);
        await onA.ExpectNothingAsync(Quiet);
        await onB.ExpectNothingAsync(Quiet);

        // A client that saw offset 3 before the restart: recovered when the history was kept, told it was not otherwise.
        await using NodeClient back = await b.ConnectAsync();
        await back.SendJsonAsync($$"""{"type":"subscribe","channel":"live","offset":3,"epoch":"{{epoch}}"}""");
        if (kept)
        {
            await ExpectMessagesAsync(back, first: 3, count: 3, firstOffset: 4);
        }
        await ExpectSubscribedAsync(back, recovered: kept, offset: firstOffset + 2);
        await back.ExpectNothingAsync(Quiet);
    }

    private static async Task<(long Offset, string Epoch)> SubscribeAsync(NodeClient client, string channel)
    {
        await client.SendJsonAsync($$"""{"type":"subscribe","channel":"{{channel}}"}""");
        using JsonDocument reply = await client.ReceiveJsonAsync();
        JsonElement root = reply.RootElement;
        Assert.Equal("subscribed", root.GetProperty("type").GetString());
        Assert.False(root.TryGetProperty("recovered", out _)); // only a resume is told whether it was complete
        return (root.GetProperty("offset").GetInt64(), root.GetProperty("epoch").GetString()!);
    }

    private static async Task ExpectSubscribedAsync(NodeClient client, bool recovered, long offset)
    {
        using JsonDocument reply = await client.ReceiveJsonAsync();
        JsonElement root = reply.RootElement;
        Assert.Equal("subscribed", root.GetProperty("type").GetString());
        Assert.Equal(recovered, root.GetProperty("recovered").GetBoolean());
        Assert.Equal(offset, root.GetProperty("offset").GetInt64());
    }

    /// <summary>Expects messages n = first.. with offsets firstOffset..; returns the last offset.</summary>
    private static async Task<long> ExpectMessagesAsync(NodeClient client, int first, int count, long firstOffset)
    {
        long offset = 0;
        for (int i = 0; i < count; i++)
        {
            using JsonDocument message = await client.ReceiveJsonAsync();
            JsonElement root = message.RootElement;
            Assert.Equal("message", root.GetProperty("type").GetString());
            Assert.Equal(first + i, root.GetProperty("content").GetProperty("n").GetInt32());
            offset = root.GetProperty("offset").GetInt64();
            Assert.Equal(firstOffset + i, offset);
        }
        return offset;
    }
}
