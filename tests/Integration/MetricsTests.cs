using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Engine;
using Engine.Runtime;
using Engine.Session;
using Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Engine.Tests.Integration;

/// <summary>
/// The server's meter after real traffic (ClientWebSocket and raw sockets). Each test has its own IMeterFactory, and the
/// collectors listen to that factory's meters only, so tests running in parallel do not see each other's servers.
/// </summary>
public sealed class MetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private IMeterFactory Factory => _services.GetRequiredService<IMeterFactory>();

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task Echo_traffic_counts_connections_messages_bytes_and_closes_by_code()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { MeterFactory = Factory });
        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < 3; i++)
        {
            var client = new ClientWebSocket();
            await client.ConnectAsync(server.Uri, CancellationToken.None);
            clients.Add(client);
        }
        Assert.Equal(3, Read("websocket.server.active_connections"));
        Assert.Equal(3, Read("websocket.server.connections.opened"));
        Assert.Equal(3, Read("websocket.server.timers.scheduled")); // each open connection's one wheel entry (its heartbeat)

        // 3 clients x 10 messages of 100 B (text) and 10 of 1,000 B (binary), each echoed back whole.
        foreach (ClientWebSocket client in clients)
        {
            for (int m = 0; m < 10; m++)
            {
                await client.SendAsync(new byte[100].Select(_ => (byte)'a').ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
                await client.SendAsync(new byte[1000], WebSocketMessageType.Binary, true, CancellationToken.None);
                await EchoTests.ReceiveMessageAsync(client);
                await EchoTests.ReceiveMessageAsync(client);
            }
        }
        Assert.Equal(60, Read("websocket.server.messages.received"));
        Assert.Equal(60, Read("websocket.server.messages.sent"));
        Assert.Equal(3 * 10 * 1100, Read("websocket.server.bytes.received"));
        Assert.Equal(3 * 10 * 1100, Read("websocket.server.bytes.sent"));
        Assert.Equal(0, Read("websocket.server.messages.dropped"));

        await clients[0].CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await clients[1].CloseAsync((WebSocketCloseStatus)4001, "app code", CancellationToken.None);
        clients[2].Abort(); // TCP reset, no close frame: 1006
        await server.AssertDrainedAsync();

        Assert.Equal(0, Read("websocket.server.active_connections"));
        Assert.Equal(0, Read("websocket.server.timers.scheduled")); // every entry cancelled with its connection, none left behind
        Assert.Equal(1, Read("websocket.server.connections.closed", ("websocket.close_code", 1000)));
        Assert.Equal(1, Read("websocket.server.connections.closed", ("websocket.close_code", 4001)));
        Assert.Equal(1, Read("websocket.server.connections.closed", ("websocket.close_code", 1006)));
        Assert.Equal(3, Read("websocket.server.connections.closed"));
        Assert.Equal(3, Read("websocket.server.connections.opened"));
    }

    [Fact]
    public async Task Rejected_handshakes_are_counted_by_status_and_reason()
    {
        var handler = new OriginHandler();
        // No handshake here may time out: under load a raw request can take longer than a short timeout from connect
        // to its last byte, and a dropped one would be counted as "timeout" instead of its own reason (that made this
        // test fail once on a loaded box with a 200 ms timeout). The timeout reason has its own test below.
        await using var server = await TestServer.StartAsync(handler, o => o with
        {
            MeterFactory = Factory,
            MaxConnections = 1,
            HandshakeTimeout = TestTimeouts.Hang,
        });
        using var first = await RawClient.ConnectAsync(server.Port);
        Assert.Equal("HTTP/1.1 101 Switching Protocols", await first.HandshakeAsync());

        Assert.StartsWith("HTTP/1.1 503", await RawRequestAsync(server.Port, RawClient.UpgradeRequest()));
        first.Dispose();
        await WaitUntil(() => server.Server.OpenWebSocketCount == 0);
        Assert.StartsWith("HTTP/1.1 403", await RawRequestAsync(server.Port, RawClient.UpgradeRequest("Origin: https://evil.example\r\n")));
        Assert.StartsWith("HTTP/1.1 426", await RawRequestAsync(server.Port, RawClient.UpgradeRequest(version: "8")));
        Assert.StartsWith("HTTP/1.1 400", await RawRequestAsync(server.Port, "NOT HTTP AT ALL\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 426", await RawRequestAsync(server.Port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 500", await RawRequestAsync(server.Port, RawClient.UpgradeRequest("Origin: https://throw.example\r\n")));

        Assert.Equal(1, Read("websocket.server.handshakes.rejected", ("http.response.status_code", 503), ("websocket.reject_reason", "max_connections")));
        Assert.Equal(1, Read("websocket.server.handshakes.rejected", ("http.response.status_code", 403), ("websocket.reject_reason", "application")));
        Assert.Equal(1, Read("websocket.server.handshakes.rejected", ("http.response.status_code", 426), ("websocket.reject_reason", "invalid_handshake")));
        Assert.Equal(1, Read("websocket.server.handshakes.rejected", ("http.response.status_code", 400), ("websocket.reject_reason", "bad_request")));
        Assert.Equal(1, Read("websocket.server.handshakes.rejected", ("http.response.status_code", 426), ("websocket.reject_reason", "not_upgrade")));
        Assert.Equal(1, Read("websocket.server.handshakes.rejected", ("http.response.status_code", 500), ("websocket.reject_reason", "handler_error")));
        Assert.Equal(0, Read("websocket.server.handshakes.rejected", ("websocket.reject_reason", "timeout")));
        Assert.Equal(6, Read("websocket.server.handshakes.rejected"));
        // The rejected attempts never opened: only the first connection counts.
        Assert.Equal(1, Read("websocket.server.connections.opened"));
        Assert.Equal(0, Read("websocket.server.active_connections"));
    }

    [Fact]
    public async Task A_handshake_that_never_finishes_is_counted_as_a_timeout()
    {
        // The short timeout keeps the test quick; the silent peer is the server's only connection, so a loaded box can
        // only make the drop come later (the wait below is the hang bound), never make another handshake time out.
        await using var server = await TestServer.StartAsync(new OriginHandler(), o => o with
        {
            MeterFactory = Factory,
            HandshakeTimeout = TimeSpan.FromMilliseconds(200),
        });
        using (var silent = await RawClient.ConnectAsync(server.Port))
        {
            await silent.SendAsync("GET / HTTP/1.1\r\n"); // never finishes the head: the handshake timeout drops it
            Assert.True(await silent.WaitForEndAsync(TestTimeouts.Hang));
        }

        Assert.Equal(1, Read("websocket.server.handshakes.rejected", ("websocket.reject_reason", "timeout")));
        Assert.Equal(1, Read("websocket.server.handshakes.rejected"));
        Assert.Equal(0, Read("websocket.server.connections.opened"));
    }

    [Fact]
    public async Task Pub_sub_counts_channels_publishes_deliveries_drops_queue_depth_and_fan_out_time()
    {
        using var fanout = new MetricCollector<double>(Factory, WebSocketTelemetry.MeterName, "websocket.server.pubsub.fanout.duration");
        var handler = new SubscribeHandler();
        await using var server = await TestServer.StartAsync(handler, o => o with { MeterFactory = Factory, MaxBufferedBytes = 64 * 1024 });
        using var stalled = await RawClient.ConnectAsync(server.Port); // subscribes, never reads
        await stalled.HandshakeAsync();
        var readers = new List<ClientWebSocket>();
        for (int i = 0; i < 4; i++)
        {
            var reader = new ClientWebSocket();
            await reader.ConnectAsync(server.Uri, CancellationToken.None);
            readers.Add(reader);
        }
        await WaitUntil(() => server.Server.PubSub.SubscriberCount("news") == 5);
        Assert.Equal(1, Read("websocket.server.pubsub.channels"));

        // 1,000 x 16 KiB to the stalled peer is more than loopback's socket buffers take: most of it is dropped.
        const int Messages = 1000;
        var payload = new byte[16 * 1024];
        for (int m = 0; m < Messages; m++)
        {
            // Paced by the readers (their queues must not be what overflows), never by the stalled peer.
            while (handler.All.Any(c => c != handler.First && c.BufferedAmount > 0))
            {
                await Task.Delay(1);
            }
            server.Server.PubSub.Publish("news", payload, MessageType.Binary);
            foreach (ClientWebSocket reader in readers)
            {
                await EchoTests.ReceiveMessageAsync(reader);
            }
        }
        long dropped = server.Server.PubSub.DroppedMessages;
        Assert.True(dropped > 0, "the stalled subscriber is over its limit");
        Assert.Equal(dropped, Read("websocket.server.messages.dropped"));
        Assert.Equal(Messages, Read("websocket.server.pubsub.publishes"));
        Assert.Equal(5 * Messages - dropped, Read("websocket.server.pubsub.deliveries"));
        Assert.Equal(5 * Messages - dropped, Read("websocket.server.messages.sent"));
        Assert.Equal((5 * Messages - dropped) * payload.Length, Read("websocket.server.bytes.sent"));
        // What the stalled peer does not read stays queued: the server-wide depth and the largest queue show it.
        long stalledQueue = handler.First!.BufferedAmount;
        Assert.True(stalledQueue > 0, "the stalled peer's queue holds what the kernel would not take");
        Assert.Equal(stalledQueue, Read("websocket.server.send_queue.max_bytes"));
        Assert.InRange(Read("websocket.server.send_queue.bytes"), stalledQueue, stalledQueue + 4 * payload.Length);

        IReadOnlyList<CollectedMeasurement<double>> timings = fanout.GetMeasurementSnapshot();
        Assert.Equal(Messages, timings.Count);
        // Seconds: a sanity range for the unit (a value in ms or ticks would be far above 10), not a speed claim.
        Assert.All(timings, t => Assert.InRange(t.Value, 0, 10));

        foreach (ClientWebSocket reader in readers)
        {
            await reader.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
        stalled.Dispose();
        await server.AssertDrainedAsync();
        Assert.Equal(0, Read("websocket.server.pubsub.channels"));
        Assert.Equal(0, Read("websocket.server.send_queue.bytes"));
    }

    [Fact]
    public void Counting_a_message_allocates_nothing()
    {
        var server = new WebSocketServer(new WebSocketServerOptions { Port = 0 }, new EchoHandler());
        var other = new WebSocketServer(new WebSocketServerOptions { Port = 0 }, new EchoHandler());
        ServerMetrics metrics = server.Metrics;
        Count(metrics, other.Metrics, 10_000); // first use: the per-key boxes are created, the code is jitted and tiered up
        long before = GC.GetAllocatedBytesForCurrentThread();
        Count(metrics, other.Metrics, 100_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        // A thread counting for two servers in turn switches its cached counts each time, without allocating.
        static void Count(ServerMetrics metrics, ServerMetrics other, int times)
        {
            for (int i = 0; i < times; i++)
            {
                other.Received(10, endOfMessage: true);
                metrics.Received(10, endOfMessage: true);
                metrics.Sent(1, 10);
                metrics.Dropped(1);
                metrics.Published(0);
                metrics.Closed(CloseCode.NormalClosure);
                metrics.Rejected(403, HandshakeRejection.Application);
            }
        }
    }

    [Fact]
    public void Counts_from_threads_that_ended_and_from_two_servers_on_one_thread_all_add_up()
    {
        var first = new WebSocketServer(new WebSocketServerOptions { Port = 0, MeterFactory = Factory }, new EchoHandler());
        using var otherServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var second = new WebSocketServer(new WebSocketServerOptions { Port = 0, MeterFactory = otherServices.GetRequiredService<IMeterFactory>() }, new EchoHandler());

        // Ten threads one after another: each later one may take over an ended one's counts, which must stay in the total.
        for (int t = 0; t < 10; t++)
        {
            var thread = new Thread(() => CountOn(first.Metrics, 1_000));
            thread.Start();
            thread.Join();
        }
        // Four at once, each also counting for the other server in turn (its cached set must not take the other's counts).
        Thread[] threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 5_000; i++)
            {
                CountOn(first.Metrics, 1);
                second.Metrics.Received(3, endOfMessage: true);
            }
        })).ToArray();
        Array.ForEach(threads, t => t.Start());
        Array.ForEach(threads, t => t.Join());

        Assert.Equal(10 * 1_000 + 4 * 5_000, Read("websocket.server.messages.received"));
        Assert.Equal(7 * (10 * 1_000 + 4 * 5_000), Read("websocket.server.bytes.received"));
        Assert.Equal(10 * 1_000 + 4 * 5_000, Read("websocket.server.messages.sent"));
        Assert.Equal(2 * (10 * 1_000 + 4 * 5_000), Read("websocket.server.bytes.sent"));
        // Sets are taken over from ended threads: at most the threads alive at once (the 4), not one per thread that counted.
        Assert.InRange(first.Metrics.CounterSets, 1, 4);

        static void CountOn(ServerMetrics metrics, int times)
        {
            for (int i = 0; i < times; i++)
            {
                metrics.Received(7, endOfMessage: true);
                metrics.Received(0, endOfMessage: false); // a fragment: bytes only, no message
                metrics.Sent(1, 2);
            }
        }
    }

    /// <summary>Sends <paramref name="request"/> on a new connection and returns the response's status line.</summary>
    internal static async Task<string> RawRequestAsync(int port, string request)
    {
        using RawClient client = await RawClient.ConnectAsync(port);
        await client.SendAsync(request);
        return (await client.ReadHeadAsync()).Split("\r\n")[0];
    }

    /// <summary>The current value of an observable instrument, summed over the measurements carrying <paramref name="tags"/>.</summary>
    private long Read(string instrument, params (string Key, object Value)[] tags)
    {
        using var collector = new MetricCollector<long>(Factory, WebSocketTelemetry.MeterName, instrument);
        collector.RecordObservableInstruments();
        IReadOnlyList<CollectedMeasurement<long>> measurements = collector.GetMeasurementSnapshot();
        Assert.NotEmpty(measurements); // the instrument exists under that name
        return measurements
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Key, out object? value) && Equals(value, t.Value)))
            .Sum(m => m.Value);
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

    /// <summary>Rejects the evil Origin with 403, throws for another, accepts the rest.</summary>
    private sealed class OriginHandler : IWebSocketHandler
    {
        public UpgradeDecision OnUpgrade(RequestHead request) => request.GetHeader("Origin") switch
        {
            "https://evil.example" => UpgradeDecision.Reject(403),
            "https://throw.example" => throw new InvalidOperationException("upgrade hook bug"),
            _ => UpgradeDecision.Accept(),
        };

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }

    /// <summary>Every connection joins "news"; the first one is remembered.</summary>
    private sealed class SubscribeHandler : IWebSocketHandler
    {
        public WebSocketConnection? First;
        public readonly List<WebSocketConnection> Connections = new();

        public WebSocketConnection[] All
        {
            get
            {
                lock (Connections)
                {
                    return Connections.ToArray();
                }
            }
        }

        public void OnOpen(WebSocketConnection connection)
        {
            Interlocked.CompareExchange(ref First, connection, null);
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
