using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using Engine;
using Engine.Buffers;

namespace Engine.Tests.Integration;

/// <summary>
/// The hook between <see cref="PubSub"/> and its backplane, over real connections: interest is reported once when a
/// channel gets its first subscriber and once after it lost its last, the sink delivers locally and never back to the
/// broker, and the local publish path allocates nothing in steady state, with or without a backplane.
/// </summary>
public sealed class PubSubBackplaneTests
{
    [Fact]
    public async Task Interest_is_reported_once_for_the_first_subscriber_and_once_after_the_last_left()
    {
        var handler = new OpenHandler();
        await using var server = await TestServer.StartAsync(handler);
        List<ClientWebSocket> clients = await ConnectAsync(server, 3);
        WebSocketConnection[] connections = await handler.WaitForAsync(3);
        PubSub pubSub = server.Server.PubSub;
        Assert.True(pubSub.Subscribe(connections[0], "early"));

        var backplane = new RecordingBackplane();
        pubSub.UseBackplane(backplane);
        Assert.Equal(["early +"], backplane.Interest); // a channel that had subscribers before the attach is announced

        Assert.True(pubSub.Subscribe(connections[0], "room"));
        Assert.True(pubSub.Subscribe(connections[1], "room"));
        Assert.True(pubSub.Subscribe(connections[2], "room"));
        Assert.False(pubSub.Subscribe(connections[0], "room"));
        Assert.True(pubSub.Unsubscribe(connections[0], "room"));
        Assert.True(pubSub.Unsubscribe(connections[1], "room"));
        Assert.Equal(["early +", "room +"], backplane.Interest);
        Assert.True(pubSub.Unsubscribe(connections[2], "room"));
        Assert.False(pubSub.Unsubscribe(connections[2], "room"));
        Assert.Equal(["early +", "room +", "room -"], backplane.Interest);

        // A connection that ends leaves its channels: the last one out of "early" is reported too.
        await clients[0].CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        await WaitUntil(() => backplane.Interest.Count == 4);
        Assert.Equal(["early +", "room +", "room -", "early -"], backplane.Interest);
        await CloseAsync(clients.Skip(1));
    }

    [Fact]
    public async Task The_sink_delivers_to_local_subscribers_only_and_a_local_publish_goes_to_the_backplane_once()
    {
        var handler = new OpenHandler();
        await using var server = await TestServer.StartAsync(handler);
        List<ClientWebSocket> clients = await ConnectAsync(server, 3);
        WebSocketConnection[] connections = await handler.WaitForAsync(3);
        PubSub pubSub = server.Server.PubSub;
        var backplane = new RecordingBackplane();
        pubSub.UseBackplane(backplane);
        foreach (WebSocketConnection connection in connections)
        {
            pubSub.Subscribe(connection, "room");
        }

        // From the broker, skipping connection 1 (as if it had published this on this node).
        Assert.Equal(2, backplane.Sink!.Deliver("room", "from afar"u8, MessageType.Text, connections[1].Id));
        Assert.Empty(backplane.Published);
        Assert.True(backplane.Sink.HasSubscribers("room"));
        Assert.False(backplane.Sink.HasSubscribers("elsewhere"));
        Assert.Equal(["room"], backplane.Sink.Channels());

        Assert.Equal(2, pubSub.Publish("room", "local"u8, MessageType.Text, exclude: connections[0]));
        Assert.Equal([("room", "local", connections[0].Id)], backplane.Published);

        Assert.Equal("from afar", await ReceiveTextAsync(clients[0]));
        Assert.Equal("from afar", await ReceiveTextAsync(clients[2]));
        Assert.Equal("local", await ReceiveTextAsync(clients[1]));
        Assert.Equal("local", await ReceiveTextAsync(clients[2]));
        await CloseAsync(clients);
    }

    private const int Publishes = 1000;

    private const int Burst = 50;

    [Fact]
    public async Task A_local_publish_allocates_nothing_in_steady_state_with_one_subscriber_or_four_with_or_without_a_backplane()
    {
        var handler = new OpenHandler();
        await using var server = await TestServer.StartAsync(handler);
        List<ClientWebSocket> clients = await ConnectAsync(server, 4);
        WebSocketConnection[] connections = await handler.WaitForAsync(4);
        PubSub pubSub = server.Server.PubSub;
        foreach (WebSocketConnection connection in connections)
        {
            pubSub.Subscribe(connection, "room");
        }
        using var stop = new CancellationTokenSource();
        Task[] readers = [.. clients.Select(client => DrainAsync(client, stop.Token))];
        byte[] payload = Encoding.ASCII.GetBytes("a small channel message");

        // Steady state: the server's frame holders cover what can be in flight at once. A burst waits until the previous
        // one is sent, but a loop thread releases the previous burst's frames just after it reports them sent, so up to
        // two bursts' frames may be held at once; the pool is warmed to that here rather than hoping the warm-up run hit
        // that peak (its peak depends on how fast the loop thread drains, which varies on a loaded box).
        SharedBuffer[] warm = [.. Enumerable.Range(0, 2 * Burst).Select(_ => server.Server.SharedBuffers.Rent(64))];
        foreach (SharedBuffer buffer in warm)
        {
            buffer.Release();
        }

        // The frame is pooled, bytes and holder, so nothing is allocated per publish or per subscriber, and an attached
        // backplane (that leaves local delivery to PubSub) adds nothing.
        Assert.Equal(0, AllocatedByPublishes(pubSub, connections, payload));
        pubSub.UseBackplane(new RecordingBackplane { Record = false });
        Assert.Equal(0, AllocatedByPublishes(pubSub, connections, payload));
        for (int i = 1; i < connections.Length; i++)
        {
            pubSub.Unsubscribe(connections[i], "room");
        }
        Assert.Equal(0, AllocatedByPublishes(pubSub, connections, payload));

        await stop.CancelAsync();
        await Task.WhenAll(readers);

        // The least of three measured runs: a cost per publish shows in every run, while a pool that a loaded box's slow
        // drain left short once (a block or a segment list made anew while the previous burst was still being released)
        // shows in one run only; that made this test fail about one run in five of the whole project before.
        static long AllocatedByPublishes(PubSub pubSub, WebSocketConnection[] connections, byte[] payload)
        {
            Publish(pubSub, connections, payload); // first use: code jitted and tiered, pools filled
            long least = long.MaxValue;
            for (int run = 0; run < 3 && least > 0; run++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                Publish(pubSub, connections, payload);
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            return least;
        }

        // Bursts the readers keep up with, each sent before the next: the steady state, where the frames' blocks come
        // back to the pool (a backlog that grows would make the pool allocate new blocks, a cost of the backlog).
        static void Publish(PubSub pubSub, WebSocketConnection[] connections, byte[] payload)
        {
            for (int burst = 0; burst < Publishes / Burst; burst++)
            {
                for (int i = 0; i < Burst; i++)
                {
                    pubSub.Publish("room", payload, MessageType.Text);
                }
                // A wait for the drain (10,000 naps of 1 ms or more: at least 10 s, a hang bound); what is measured is the
                // allocation, never the time.
                for (int waited = 0; waited < 10_000 && !Drained(connections); waited++)
                {
                    Thread.Sleep(1);
                }
            }
        }

        static bool Drained(WebSocketConnection[] connections)
        {
            foreach (WebSocketConnection connection in connections)
            {
                if (connection.BufferedAmount > 0)
                {
                    return false;
                }
            }
            return true;
        }
    }

    private static async Task<List<ClientWebSocket>> ConnectAsync(TestServer server, int count)
    {
        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < count; i++)
        {
            var client = new ClientWebSocket();
            await client.ConnectAsync(server.Uri, CancellationToken.None);
            clients.Add(client);
        }
        return clients;
    }

    private static async Task CloseAsync(IEnumerable<ClientWebSocket> clients)
    {
        foreach (ClientWebSocket client in clients)
        {
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            client.Dispose();
        }
    }

    private static async Task<string> ReceiveTextAsync(ClientWebSocket client)
    {
        (_, byte[] payload) = await EchoTests.ReceiveMessageAsync(client);
        return Encoding.ASCII.GetString(payload);
    }

    private static async Task DrainAsync(ClientWebSocket client, CancellationToken stop)
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await client.ReceiveAsync(buffer, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        // Bounds a wait on the server's loop thread, which reacts in milliseconds: a hang bound.
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }

    /// <summary>Hands the test every connection that opens, in order; subscribes none.</summary>
    private sealed class OpenHandler : IWebSocketHandler
    {
        private readonly ConcurrentQueue<WebSocketConnection> _opened = new();

        public void OnOpen(WebSocketConnection connection) => _opened.Enqueue(connection);

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }

        public async Task<WebSocketConnection[]> WaitForAsync(int count)
        {
            await WaitUntil(() => _opened.Count >= count);
            return [.. _opened];
        }
    }

    /// <summary>A backplane that records what PubSub tells it and leaves local delivery to PubSub.</summary>
    private sealed class RecordingBackplane : IPubSubBackplane
    {
        public IBackplaneSink? Sink { get; private set; }

        /// <summary>Whether publishes are recorded (off for the allocation measurement).</summary>
        public bool Record { get; init; } = true;

        /// <summary>"channel +" when told of interest while the channel has subscribers, "channel -" when it has none.</summary>
        public List<string> Interest { get; } = [];

        public List<(string Channel, string Payload, long SenderId)> Published { get; } = [];

        public Guid NodeId { get; } = Guid.NewGuid();

        public bool IsConnected => true;

        public long UndeliveredMessages => 0;

        public long ReceivedMessages => 0;

        public void Attach(IBackplaneSink sink) => Sink = sink;

        public void ChannelInterestChanged(string channel)
        {
            lock (Interest)
            {
                Interest.Add(channel + (Sink!.HasSubscribers(channel) ? " +" : " -"));
            }
        }

        public bool Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, long senderId)
        {
            if (Record)
            {
                Published.Add((channel, Encoding.ASCII.GetString(payload), senderId));
            }
            return false;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
