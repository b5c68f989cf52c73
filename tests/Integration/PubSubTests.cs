using System.Net.WebSockets;
using System.Text;
using Engine;
using Host;

namespace Engine.Tests.Integration;

/// <summary>The engine's pub/sub over real connections.</summary>
public sealed class PubSubTests
{
    [Fact]
    public async Task Publish_reaches_every_other_subscriber_once_in_order_and_buffers_return_to_the_pool()
    {
        await using var server = await TestServer.StartAsync(new BroadcastHandler());
        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < 50; i++)
        {
            var client = new ClientWebSocket();
            await client.ConnectAsync(server.Uri, CancellationToken.None);
            clients.Add(client);
        }
        await WaitUntil(() => server.Server.PubSub.SubscriberCount("all") == 50);

        for (int m = 0; m < 20; m++)
        {
            await clients[0].SendAsync(Encoding.UTF8.GetBytes($"m{m}"), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        foreach (ClientWebSocket subscriber in clients.Skip(1))
        {
            for (int m = 0; m < 20; m++)
            {
                (_, byte[] payload) = await EchoTests.ReceiveMessageAsync(subscriber);
                Assert.Equal($"m{m}", Encoding.UTF8.GetString(payload));
            }
        }
        Assert.Equal(49 * 20, server.Server.PubSub.Deliveries);

        // The publisher was excluded: the next thing it receives is a message another client publishes.
        await clients[1].SendAsync("from 1"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        (WebSocketMessageType type, byte[] first) = await EchoTests.ReceiveMessageAsync(clients[0]);
        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal("from 1", Encoding.UTF8.GetString(first));

        foreach (ClientWebSocket client in clients)
        {
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
        await server.AssertDrainedAsync();
        Assert.Equal(0, server.Server.PubSub.ChannelCount);
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_is_dropped_and_counted_without_delaying_the_others()
    {
        var handler = new ChannelHandler();
        await using var server = await TestServer.StartAsync(handler, o => o with { MaxBufferedBytes = 64 * 1024 });
        using var stalled = await RawClient.ConnectAsync(server.Port);
        await stalled.HandshakeAsync();
        using var reader = new ClientWebSocket();
        await reader.ConnectAsync(server.Uri, CancellationToken.None);
        await WaitUntil(() => server.Server.PubSub.SubscriberCount("news") == 2);

        var payload = new byte[8 * 1024];
        int received = 0;
        var readAll = Task.Run(async () =>
        {
            for (; received < 2000; received++)
            {
                await EchoTests.ReceiveMessageAsync(reader);
            }
        });
        WebSocketConnection readerConnection = handler.Connections[1];
        for (int i = 0; i < 2000; i++)
        {
            // Paced by the reader only: the stalled subscriber must not slow this loop down.
            while (readerConnection.BufferedAmount > 32 * 1024)
            {
                await Task.Delay(1);
            }
            Assert.InRange(server.Server.PubSub.Publish("news", payload, MessageType.Binary), 1, 2);
        }
        await readAll.WaitAsync(TestTimeouts.Hang);

        Assert.Equal(2000, received);
        Assert.True(server.Server.PubSub.DroppedMessages > 1000, "the stalled subscriber lost messages to the FailSend policy");
        Assert.Equal(2 * 2000, server.Server.PubSub.Deliveries + server.Server.PubSub.DroppedMessages);
        Assert.InRange(handler.Stalled!.BufferedAmount, 1, 64 * 1024 + payload.Length + 16);
    }

    [Fact]
    public async Task Unsubscribe_stops_delivery_and_closing_leaves_every_channel()
    {
        var handler = new ChannelHandler();
        await using var server = await TestServer.StartAsync(handler);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        await WaitUntil(() => handler.Stalled is not null);
        WebSocketConnection connection = handler.Stalled!;
        PubSub pubsub = server.Server.PubSub;

        Assert.True(pubsub.Subscribe(connection, "a"));
        Assert.True(connection.HoldsExtras); // where the joined channels are kept, made at the first join
        Assert.False(pubsub.Subscribe(connection, "a"));
        Assert.True(pubsub.Unsubscribe(connection, "a"));
        Assert.Equal(0, pubsub.Publish("a", "x"u8, MessageType.Text));
        Assert.True(pubsub.Subscribe(connection, "b"));
        Assert.Equal(2, pubsub.ChannelCount); // news, b

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        await server.AssertDrainedAsync();
        Assert.Equal(0, pubsub.ChannelCount);
        Assert.False(pubsub.Subscribe(connection, "c"));
    }

    [Fact]
    public async Task WhenBufferedBelowAsync_completes_as_the_peer_reads()
    {
        var handler = new ChannelHandler();
        await using var server = await TestServer.StartAsync(handler, o => o with { MaxBufferedBytes = 64 * 1024 * 1024 });
        using var client = await RawClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        await WaitUntil(() => handler.Stalled is not null);
        WebSocketConnection connection = handler.Stalled!;

        // More than loopback's socket buffers absorb, so some of it stays queued until the client reads.
        int queued = 0;
        for (int i = 0; i < 2000; i++)
        {
            queued += connection.Send(new byte[16 * 1024], MessageType.Binary) == SendStatus.Queued ? 1 : 0;
        }
        Assert.Equal(2000, queued);
        // Lets the transport hand the kernel what it takes; not a wait the assertion needs: 32 MiB is far more than
        // loopback's buffers hold, so some stays queued however long (or short) the transport had.
        await Task.Delay(200);
        Assert.True(connection.BufferedAmount > 0, "the client has not read yet");
        Task drained = connection.WhenBufferedBelowAsync(0);
        Assert.False(drained.IsCompleted);

        for (int i = 0; i < queued; i++)
        {
            Assert.NotNull(await client.ReadFrameAsync());
        }
        await drained.WaitAsync(TestTimeouts.Hang);
        Assert.Equal(0, connection.BufferedAmount);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }

    /// <summary>Every connection joins "news"; the first one is remembered.</summary>
    private sealed class ChannelHandler : IWebSocketHandler
    {
        public WebSocketConnection? Stalled;
        public readonly List<WebSocketConnection> Connections = new();

        public void OnOpen(WebSocketConnection connection)
        {
            Stalled ??= connection;
            lock (Connections)
            {
                Connections.Add(connection);
            }
            connection.Server.PubSub.Subscribe(connection, "news");
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
