using System.Net.WebSockets;
using System.Text;
using Engine;
using Engine.History;

namespace Engine.Tests.Integration;

/// <summary>
/// The engine's side of channel history (<see cref="ChannelHistory"/>), driven through the <see cref="IHistorySink"/> an
/// in-memory <see cref="IHistoryBackplane"/> is handed (the
/// broker's part is tested against real Redis in tests/Backplane): a subscriber gets each offset once and in order,
/// whatever order, repeats and gaps the broker's live feed has.
/// </summary>
public sealed class HistoryDeliveryTests
{
    [Fact]
    public async Task Live_offsets_are_delivered_once_in_order_with_gaps_filled_from_the_history()
    {
        var history = new MemoryHistory("e1");
        var handler = new HistoryHandler();
        await using var server = await TestServer.StartAsync(handler);
        handler.History = new ChannelHistory(server.Server.PubSub, history, static (payload, _, offset, destination) =>
        {
            // "payload#offset": enough to see which offset each delivery carried.
            payload.CopyTo(destination);
            return payload.Length + Encoding.ASCII.GetBytes($"#{offset}", destination[payload.Length..]);
        });
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        SubscribeOutcome joined = await handler.Joined.Task.WaitAsync(TestTimeouts.Hang);
        Assert.Equal(new ChannelPosition(0, "e1"), joined.Position);

        IHistorySink sink = history.Sink!;
        await sink.DeliverSequencedAsync("h", new ChannelPosition(1, "e1"), history.Append("m1"));
        await sink.DeliverSequencedAsync("h", new ChannelPosition(2, "e1"), history.Append("m2"));
        await sink.DeliverSequencedAsync("h", new ChannelPosition(2, "e1"), history.Entry(2)); // a repeat
        history.Append("m3");
        history.Append("m4");
        await sink.DeliverSequencedAsync("h", new ChannelPosition(5, "e1"), history.Append("m5")); // 3 and 4 never came live
        history.Append("m6");
        await sink.ResyncAsync("h"); // as after a broker reconnect: 6 was published meanwhile
        await sink.DeliverSequencedAsync("h", new ChannelPosition(6, "e1"), history.Entry(6)); // and then arrives late

        foreach (string expected in (string[])["m1#1", "m2#2", "m3#3", "m4#4", "m5#5", "m6#6"])
        {
            (_, byte[] payload) = await EchoTests.ReceiveMessageAsync(client);
            Assert.Equal(expected, Encoding.ASCII.GetString(payload));
        }
        // Nothing more: the repeats of 2 and 6 were dropped. A marker delivered last must be the next message (order on one
        // connection, not a quiet window: on a loaded box a 300 ms window could end before a wrong repeat arrived).
        await sink.DeliverSequencedAsync("h", new ChannelPosition(7, "e1"), history.Append("m7"));
        Assert.Equal("m7#7", Encoding.ASCII.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
    }

    [Fact]
    public async Task A_resync_stops_at_a_gap_the_history_dropped_so_the_live_messages_behind_it_are_not_skipped()
    {
        var history = new MemoryHistory("e1");
        var handler = new HistoryHandler();
        await using var server = await TestServer.StartAsync(handler);
        handler.History = new ChannelHistory(server.Server.PubSub, history);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        Assert.Equal(new ChannelPosition(0, "e1"), (await handler.Joined.Task.WaitAsync(TestTimeouts.Hang)).Position);

        // Six published at once into a history that keeps three: 1-3 are gone from it but still on their way live.
        for (int i = 1; i <= 6; i++)
        {
            history.Append($"m{i}");
        }
        history.Keep = 3;
        IHistorySink sink = history.Sink!;
        await sink.ResyncAsync("h"); // the subscription became active: the history starts at 4, past a gap
        for (long offset = 1; offset <= 6; offset++)
        {
            await sink.DeliverSequencedAsync("h", new ChannelPosition(offset, "e1"), history.Entry(offset));
        }
        for (int i = 1; i <= 6; i++)
        {
            (_, byte[] payload) = await EchoTests.ReceiveMessageAsync(client);
            Assert.Equal($"m{i}", Encoding.ASCII.GetString(payload));
        }
    }

    /// <summary>Subscribes every connection to "h" through the history path.</summary>
    private sealed class HistoryHandler : IWebSocketHandler
    {
        public readonly TaskCompletionSource<SubscribeOutcome> Joined = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ChannelHistory? History { get; set; }

        public void OnOpen(WebSocketConnection connection) =>
            _ = History!.SubscribeAsync(connection, "h", joined: (_, outcome) => Joined.TrySetResult(outcome));

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }

    /// <summary>One channel's history in memory: what a broker would have stored.</summary>
    private sealed class MemoryHistory(string epoch) : IHistoryBackplane
    {
        private readonly List<byte[]> _entries = [];

        /// <summary>Reads return at most this many newest entries, like a broker trimming to a size.</summary>
        public int Keep { get; set; } = int.MaxValue;

        public Guid NodeId { get; } = Guid.NewGuid();

        public bool IsConnected => true;

        public long UndeliveredMessages => 0;

        public long ReceivedMessages => 0;

        public ReadOnlyMemory<byte> Append(string text)
        {
            _entries.Add(BackplaneEnvelope.Create(Guid.NewGuid(), 0, Encoding.ASCII.GetBytes(text), MessageType.Text));
            return _entries[^1];
        }

        public ReadOnlyMemory<byte> Entry(long offset) => _entries[(int)offset - 1];

        /// <summary>What the history layer handed us: where the "broker's" messages go.</summary>
        public IHistorySink? Sink { get; private set; }

        public void Attach(IBackplaneSink sink) => Sink = (IHistorySink)sink;

        public void ChannelInterestChanged(string channel)
        {
        }

        public bool Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, long senderId) => true;

        public Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask<HistoryPage> ReadHistoryAsync(string channel, long after, CancellationToken cancellationToken = default)
        {
            var entries = new List<HistoryEntry>();
            long oldest = Math.Max(1, _entries.Count - Keep + 1);
            for (long offset = Math.Max(Math.Max(after, 0) + 1, oldest); after < _entries.Count && offset <= _entries.Count; offset++)
            {
                entries.Add(new HistoryEntry(offset, _entries[(int)offset - 1]));
            }
            return ValueTask.FromResult(new HistoryPage(new ChannelPosition(_entries.Count, epoch), entries));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
