using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Engine.History;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Backplane;

/// <summary>
/// What <see cref="BackplaneBase"/> does for every broker, driven through a broker in memory: attached once, one
/// listener per channel with local subscribers however often its interest is reported, a listen the broker refused made
/// again on reconnect, the publish guard, and delivery of other nodes' messages only.
/// </summary>
public sealed class BackplaneBaseTests
{
    /// <summary>
    /// Bounds the wait for the background reconcile loop; it reacts in microseconds, the margin is for a loaded 2-core
    /// box where the thread pool may be starved for seconds by the other test runs: a hang bound.
    /// </summary>
    private static readonly TimeSpan Wait = TestTimeouts.Hang;

    [Fact]
    public async Task A_second_attach_is_refused()
    {
        await using var backplane = new MemoryBackplane();
        backplane.Attach(new MemorySink());
        Assert.Throws<InvalidOperationException>(() => backplane.Attach(new MemorySink()));
    }

    [Fact]
    public async Task A_pubsub_whose_backplane_refused_to_attach_has_none_and_takes_another()
    {
        await using var server = new WebSocketServer(new WebSocketServerOptions { Port = 0 }, new IdleHandler());
        await using var taken = new MemoryBackplane();
        taken.Attach(new MemorySink()); // attached elsewhere already
        Assert.Throws<InvalidOperationException>(() => server.PubSub.UseBackplane(taken));
        Assert.Null(server.PubSub.Backplane);

        await using var backplane = new MemoryBackplane();
        server.PubSub.UseBackplane(backplane);
        Assert.Same(backplane, server.PubSub.Backplane);
        Assert.Throws<InvalidOperationException>(() => server.PubSub.UseBackplane(new MemoryBackplane()));
        Assert.Same(backplane, server.PubSub.Backplane);
    }

    [Fact]
    public async Task Interest_reported_many_times_makes_one_listen_and_the_last_subscriber_leaving_stops_it()
    {
        var sink = new MemorySink();
        await using var backplane = new MemoryBackplane();
        backplane.Attach(sink);
        sink.Join("a");
        for (int i = 0; i < 5; i++)
        {
            backplane.ChannelInterestChanged("a");
        }
        Assert.Equal("listen a", await backplane.NextEventAsync());
        await backplane.ListenedAsync("a").WaitAsync(Wait);
        Assert.Equal(1, backplane.SubscribedChannels);

        sink.Leave("a");
        backplane.ChannelInterestChanged("a");
        backplane.ChannelInterestChanged("a");
        Assert.Equal("stop a", await backplane.NextEventAsync());
        // The second report found nothing to do: the next event is the one the marker channel causes.
        sink.Join("marker");
        backplane.ChannelInterestChanged("marker");
        Assert.Equal("listen marker", await backplane.NextEventAsync());
        Assert.Equal(1, backplane.SubscribedChannels);
    }

    [Fact]
    public async Task A_listen_the_broker_refused_is_made_when_the_connection_comes_back()
    {
        var sink = new MemorySink();
        await using var backplane = new MemoryBackplane { BrokerDown = true };
        backplane.Attach(sink);
        sink.Join("a");
        backplane.ChannelInterestChanged("a");
        Assert.Equal("refused a", await backplane.NextEventAsync());
        Assert.Equal(0, backplane.SubscribedChannels);

        backplane.BrokerDown = false;
        backplane.Reconnected();
        Assert.Equal("listen a", await backplane.NextEventAsync());
        Assert.Equal(1, backplane.SubscribedChannels);
    }

    [Fact]
    public async Task A_publish_while_the_broker_is_down_is_counted_and_left_to_local_delivery()
    {
        await using var backplane = new MemoryBackplane { Connected = false };
        backplane.Attach(new MemorySink());
        Assert.False(backplane.Publish("a", "hi"u8, MessageType.Text, senderId: 7));
        Assert.Equal(1, backplane.UndeliveredMessages);
        Assert.Empty(backplane.Sent);

        backplane.Connected = true;
        Assert.False(backplane.Publish("a", "hi"u8, MessageType.Binary, senderId: 7));
        Assert.Equal(1, backplane.UndeliveredMessages);
        (string channel, byte[] envelope) = Assert.Single(backplane.Sent);
        Assert.Equal("a", channel);
        Assert.True(BackplaneEnvelope.TryRead(envelope, out Guid origin, out long senderId, out MessageType type, out ReadOnlySpan<byte> payload));
        Assert.Equal((backplane.NodeId, 7L, MessageType.Binary, "hi"), (origin, senderId, type, Encoding.ASCII.GetString(payload)));
    }

    [Fact]
    public async Task A_publish_that_fails_later_is_counted()
    {
        await using var backplane = new MemoryBackplane();
        backplane.Attach(new MemorySink());
        var sent = new TaskCompletionSource();
        backplane.CountIfFailedForTest(sent.Task);
        backplane.CountIfFailedForTest(Task.CompletedTask);
        Assert.Equal(0, backplane.UndeliveredMessages);
        sent.SetException(new InvalidOperationException("connection lost"));
        Assert.Equal(1, backplane.UndeliveredMessages); // the continuation runs synchronously with the failure
    }

    [Fact]
    public async Task Messages_from_the_broker_reach_the_local_subscribers_except_this_nodes_own()
    {
        var sink = new MemorySink();
        await using var backplane = new MemoryBackplane();
        backplane.Attach(sink);
        backplane.FromBroker("a", BackplaneEnvelope.Create(Guid.NewGuid(), 5, "theirs"u8, MessageType.Text));
        backplane.FromBroker("a", BackplaneEnvelope.Create(backplane.NodeId, 5, "ours"u8, MessageType.Text));
        backplane.FromBroker("a", "not an envelope"u8.ToArray());

        // Another node's sender id means nothing here: nobody is excluded.
        Assert.Equal(["a theirs Text 0"], sink.Delivered);
        Assert.Equal(1, backplane.ReceivedMessages);
    }

    [Fact]
    public async Task Disposing_stops_every_listener_before_closing_the_connection()
    {
        var sink = new MemorySink();
        var backplane = new MemoryBackplane();
        backplane.Attach(sink);
        sink.Join("a");
        backplane.ChannelInterestChanged("a");
        Assert.Equal("listen a", await backplane.NextEventAsync());
        await backplane.DisposeAsync();
        Assert.Equal("stop a", await backplane.NextEventAsync());
        Assert.Equal("close", await backplane.NextEventAsync());
        await backplane.DisposeAsync(); // once
        Assert.False(backplane.Events.TryRead(out _));
    }

    [Fact]
    public async Task A_history_backplane_refuses_a_plain_pubsub_and_is_attached_by_the_history_layer()
    {
        await using var server = new WebSocketServer(new WebSocketServerOptions { Port = 0 }, new IdleHandler());
        await using var backplane = new MemoryHistoryBackplane();
        Assert.Throws<InvalidOperationException>(() => server.PubSub.UseBackplane(backplane));
        Assert.Null(server.PubSub.Backplane);

        var history = new ChannelHistory(server.PubSub, backplane);
        Assert.Same(backplane, server.PubSub.Backplane);
        Assert.Same(backplane, history.Backplane);
        Assert.Throws<InvalidOperationException>(() => new ChannelHistory(server.PubSub, new MemoryHistoryBackplane()));
    }

    [Fact]
    public async Task A_refused_history_publish_is_counted_and_delivered_here_without_its_sender()
    {
        var sink = new MemoryHistorySink();
        await using var backplane = new MemoryHistoryBackplane();
        backplane.Attach(sink);
        backplane.Unsequenced("a", BackplaneEnvelope.Create(backplane.NodeId, 9, "lost"u8, MessageType.Binary));
        Assert.Equal(["a lost Binary 9"], sink.Delivered);
        Assert.Equal(1, backplane.UndeliveredMessages);
    }

    [Fact]
    public async Task Numbered_messages_go_to_the_history_sink_and_only_other_nodes_count_as_received()
    {
        var sink = new MemoryHistorySink();
        await using var backplane = new MemoryHistoryBackplane();
        backplane.Attach(sink);
        await backplane.Sequenced("a", new ChannelPosition(1, "e"), BackplaneEnvelope.Create(backplane.NodeId, 1, "ours"u8, MessageType.Text));
        await backplane.Sequenced("a", new ChannelPosition(2, "e"), BackplaneEnvelope.Create(Guid.NewGuid(), 1, "theirs"u8, MessageType.Text));
        Assert.Equal(["a 1 e", "a 2 e"], sink.Sequenced);
        Assert.Equal(1, backplane.ReceivedMessages);
    }

    /// <summary>A broker in memory: records what the base asks of it as events, in order.</summary>
    private class MemoryBackplane : BackplaneBase
    {
        private readonly Channel<string> _events = Channel.CreateUnbounded<string>();

        public volatile bool Connected = true;

        /// <summary>Listens throw the broker's failure, as while it is unreachable.</summary>
        public volatile bool BrokerDown;

        public readonly ConcurrentQueue<(string Channel, byte[] Envelope)> Sent = new();

        public ChannelReader<string> Events => _events.Reader;

        public override bool IsConnected => Connected;

        public async Task<string> NextEventAsync() => await _events.Reader.ReadAsync().AsTask().WaitAsync(Wait);

        public Task ListenedAsync(string channel) => WaitForListenerAsync(channel, CancellationToken.None);

        public void Reconnected() => RecheckChannels();

        public void FromBroker(string channel, byte[] envelope) => DeliverFromBroker(channel, envelope);

        public void CountIfFailedForTest(Task sent) => CountIfFailed(sent);

        protected override Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        protected override Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken)
        {
            if (BrokerDown)
            {
                _events.Writer.TryWrite("refused " + channel);
                throw new BrokerDownException();
            }
            _events.Writer.TryWrite("listen " + channel);
            return Task.FromResult<IAsyncDisposable>(new Listener(_events.Writer, channel));
        }

        protected override bool SendToBroker(string channel, byte[] envelope)
        {
            Sent.Enqueue((channel, envelope));
            return false;
        }

        protected override bool IsBrokerFailure(Exception exception) => exception is BrokerDownException;

        protected override ValueTask CloseAsync()
        {
            _events.Writer.TryWrite("close");
            return ValueTask.CompletedTask;
        }

        private sealed class Listener(ChannelWriter<string> events, string channel) : IAsyncDisposable
        {
            public ValueTask DisposeAsync()
            {
                events.TryWrite("stop " + channel);
                return ValueTask.CompletedTask;
            }
        }
    }

    private sealed class MemoryHistoryBackplane : HistoryBackplaneBase
    {
        public override bool IsConnected => true;

        public void Unsequenced(string channel, byte[] envelope) => DeliverUnsequenced(channel, envelope);

        public ValueTask Sequenced(string channel, ChannelPosition position, byte[] envelope) => DeliverSequencedAsync(channel, position, envelope);

        public override ValueTask<HistoryPage> ReadHistoryAsync(string channel, long after, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new HistoryPage(new ChannelPosition(0, "e"), []));

        public override Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken) => Task.CompletedTask;

        protected override Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        protected override Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken) => throw new NotSupportedException();

        protected override bool SendToBroker(string channel, byte[] envelope) => true;

        protected override bool IsBrokerFailure(Exception exception) => false;

        protected override ValueTask CloseAsync() => ValueTask.CompletedTask;
    }

    private sealed class BrokerDownException : Exception;

    /// <summary>This node's channels as the backplane sees them: who is subscribed, what was delivered.</summary>
    private class MemorySink : IBackplaneSink
    {
        private readonly ConcurrentDictionary<string, byte> _subscribed = new();

        public readonly List<string> Delivered = [];

        public int Deliver(string channel, ReadOnlySpan<byte> payload, MessageType type, long excludeId = 0)
        {
            Delivered.Add($"{channel} {Encoding.ASCII.GetString(payload)} {type} {excludeId}");
            return 1;
        }

        public void Join(string channel) => _subscribed[channel] = 0;

        public void Leave(string channel) => _subscribed.TryRemove(channel, out _);

        public bool HasSubscribers(string channel) => _subscribed.ContainsKey(channel);

        public IReadOnlyList<string> Channels() => [.. _subscribed.Keys];
    }

    private sealed class MemoryHistorySink : MemorySink, IHistorySink
    {
        public readonly List<string> Sequenced = [];

        public ValueTask DeliverSequencedAsync(string channel, ChannelPosition position, ReadOnlyMemory<byte> envelope)
        {
            Sequenced.Add($"{channel} {position.Offset} {position.Epoch}");
            return ValueTask.CompletedTask;
        }

        public Task ResyncAsync(string channel) => Task.CompletedTask;
    }

    /// <summary>A server that is never started needs a handler, never calls it.</summary>
    private sealed class IdleHandler : IWebSocketHandler
    {
        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
