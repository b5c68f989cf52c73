using System.Threading.Channels;
using Engine.Client;
using Engine.Tests.Support;

namespace Engine.Tests.Backplane;

/// <summary>
/// The C# client (src/Client) on Host nodes with channel history: after its connection drops it reconnects by itself,
/// re-subscribes from the last offset it saw, and gets exactly the messages published meanwhile, text and binary, in
/// order and before <c>subscribed</c> says <c>recovered</c>.
/// </summary>
public sealed class ClientResumeTests
{
    private static readonly TimeSpan Wait = TestTimeouts.Hang; // every wait here is for something that must happen
    // A window for messages that must not arrive: load can only make it miss one, never fail a correct run.
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task After_its_node_dies_and_returns_the_client_resumes_with_exactly_the_missed_messages()
    {
        await using Broker broker = await Broker.StartAsync("redis");
        var history = new Dictionary<string, string> { ["WS_HISTORY_SIZE"] = "100" };
        await using HostNode a = await HostNode.StartAsync(broker.Url, history);
        HostNode? b = await HostNode.StartAsync(broker.Url, history);
        try
        {
            await using NodeClient publisher = await a.ConnectAsync();
            await using NodeClient watcher = await a.ConnectAsync();
            await watcher.SubscribeAsync("news");
            // The client reaches B through a relay the test controls (a load balancer): it lets the client back in
            // only once the restarted B is connected to Redis, as a node that is not would have no history to offer.
            await using var proxy = new TcpProxy(b.Port);
            await using var client = new EngineClient(new EngineClientOptions
            {
                Uri = proxy.Uri,
                BaseDelay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromMilliseconds(400),
                MaxRetries = 1000,
                HeartbeatInterval = TimeSpan.Zero,
            });
            // Everything the application sees, in order.
            var seen = Channel.CreateUnbounded<string>();
            client.MessageReceived += m => seen.Writer.TryWrite($"text {m.Content.GetProperty("n").GetInt32()} @{m.Offset}");
            client.BinaryReceived += m => seen.Writer.TryWrite($"binary {m.Payload[0]} @{m.Offset}");
            client.Subscribed += s => seen.Writer.TryWrite($"subscribed {s.Position?.Offset} recovered={s.Recovered?.ToString() ?? "none"}");
            await client.StartAsync().WaitAsync(Wait);
            await client.SubscribeAsync("news");
            await ExpectAsync(seen, "subscribed 0 recovered=none");
            string epoch = client.GetPosition("news")!.Value.Epoch;

            await PublishAsync(publisher, 0, binary: false);
            await PublishAsync(publisher, 1, binary: true);
            await PublishAsync(publisher, 2, binary: false);
            await ExpectAsync(seen, "text 0 @1", "binary 1 @2", "text 2 @3");
            await ExpectOffsetsAsync(watcher, 1, 3);

            // B dies with the client on it; the client keeps retrying (refused) while A's publisher goes on.
            proxy.Cut();
            await b.DisposeAsync();
            b = null;
            await WaitUntilAsync(() => client.State is EngineClientState.Reconnecting or EngineClientState.Connecting);
            for (int n = 3; n < 9; n++)
            {
                await PublishAsync(publisher, n, binary: n % 3 == 1);
            }
            await ExpectOffsetsAsync(watcher, 4, 9); // numbered and broadcast by Redis, so in the history
            b = await HostNode.StartAsync(broker.Url, history);
            await b.WaitForHealthAsync("ok", Wait);
            proxy.Open(b.Port);

            // Back on the new B process: the six missed ones, in order and once, then `subscribed` saying so.
            await ExpectAsync(seen, "text 3 @4", "binary 4 @5", "text 5 @6", "text 6 @7", "binary 7 @8", "text 8 @9", "subscribed 9 recovered=True");
            Assert.Equal(new HistoryPosition(9, epoch), client.GetPosition("news"));
            await PublishAsync(publisher, 9, binary: false);
            await ExpectAsync(seen, "text 9 @10");
            await Task.Delay(Quiet);
            Assert.False(seen.Reader.TryRead(out string? extra), $"unexpected: {extra}");
            Assert.Equal(new HistoryPosition(10, epoch), client.GetPosition("news"));
        }
        finally
        {
            if (b is not null)
            {
                await b.DisposeAsync();
            }
        }
    }

    private static Task PublishAsync(NodeClient publisher, int n, bool binary) => binary
        ? publisher.SendBinaryAsync([0x01, 4, .. "news"u8, (byte)n])
        : publisher.PublishAsync("news", $$"""{"n":{{n}}}""");

    private static async Task ExpectAsync(Channel<string> seen, params string[] expected)
    {
        var got = new List<string>();
        using var deadline = new CancellationTokenSource(Wait);
        try
        {
            while (got.Count < expected.Length)
            {
                got.Add(await seen.Reader.ReadAsync(deadline.Token));
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.Equal(expected, got);
    }

    private static async Task ExpectOffsetsAsync(NodeClient watcher, long first, long last)
    {
        for (long expected = first; expected <= last; expected++)
        {
            var (type, data) = await watcher.ReceiveAsync();
            long? offset;
            if (type == System.Net.WebSockets.WebSocketMessageType.Binary)
            {
                Assert.True(HostProtocol.TryDecodeChannelEnvelope(data, out ChannelBinary? message));
                offset = message!.Offset;
            }
            else
            {
                using var json = System.Text.Json.JsonDocument.Parse(data);
                offset = json.RootElement.GetProperty("offset").GetInt64();
            }
            Assert.Equal(expected, offset);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
