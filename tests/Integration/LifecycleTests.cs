using System.Collections.Concurrent;
using System.Net.WebSockets;
using Engine;
using Engine.Protocol;
using Engine.Session;

namespace Engine.Tests.Integration;

/// <summary>Close codes, heartbeats, backpressure and graceful stop, end to end.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task Server_close_reaches_the_client_with_its_code_and_the_handler_sees_it_once()
    {
        var handler = new RecordingHandler { CloseOnMessage = (CloseCode)4001 };
        await using var server = await TestServer.StartAsync(handler);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);

        await client.SendAsync("close me"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var result = await client.ReceiveAsync(new byte[64], CancellationToken.None);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(4001, (int)result.CloseStatus!);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);

        await server.AssertDrainedAsync();
        Assert.Equal([(CloseCode)4001], handler.Closes.ToArray());
        Assert.Equal(["requested"], handler.Reasons.ToArray()); // ours, sent first: the client's 1000 does not replace it
        Assert.Equal(SendStatus.Closed, handler.LastConnection!.Send("late"u8, MessageType.Text));
    }

    [Fact]
    public async Task A_client_that_vanishes_is_reported_as_1006()
    {
        var handler = new RecordingHandler();
        await using var server = await TestServer.StartAsync(handler);
        using (var client = await RawClient.ConnectAsync(server.Port))
        {
            await client.HandshakeAsync();
        }
        await server.AssertDrainedAsync();
        Assert.Equal([CloseCode.AbnormalClosure], handler.Closes.ToArray());
        Assert.Equal([""], handler.Reasons.ToArray());
    }

    [Fact]
    public async Task The_peers_close_reason_reaches_the_handler_and_an_open_connection_holds_no_side_object_until_then()
    {
        var handler = new RecordingHandler();
        await using var server = await TestServer.StartAsync(handler);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        WebSocketConnection connection = await handler.Opened.Task;
        Assert.False(connection.HoldsExtras); // memory per idle connection: the reason's place is made when one comes

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await server.AssertDrainedAsync();
        Assert.Equal([CloseCode.NormalClosure], handler.Closes.ToArray());
        Assert.Equal(["bye"], handler.Reasons.ToArray());
    }

    [Fact]
    public async Task Heartbeat_terminates_a_client_that_never_answers_pings()
    {
        var handler = new RecordingHandler();
        await using var server = await TestServer.StartAsync(handler, o => o with
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(300),
        });
        using var client = await RawClient.ConnectAsync(server.Port);
        var started = DateTime.UtcNow; // before the upgrade, so the bound below holds however late the 101 is read
        await client.HandshakeAsync();

        var ping = await client.ReadFrameAsync();
        Assert.Equal(Opcode.Ping, ping!.Value.Opcode);
        Assert.True(await client.WaitForEndAsync(TestTimeouts.Hang), "connection terminated");
        var elapsed = DateTime.UtcNow - started;

        // First ping at 200 ms, pong due 300 ms later. The lower bound is the claim that the pong's deadline was waited
        // for: the timer wheel never fires early and `started` precedes the upgrade, so load cannot break it (5 ms for
        // the two clocks). The upper one says the heartbeat cut it, not a hang: 2.5 s past the deadline is many times
        // what a loaded box's late tick and FIN take.
        Assert.InRange(elapsed.TotalMilliseconds, 495, 3000);
        await server.AssertDrainedAsync();
        Assert.Equal([CloseCode.AbnormalClosure], handler.Closes.ToArray());
        Assert.Equal([SessionTimeout.Heartbeat.Describe()], handler.Reasons.ToArray());
    }

    [Fact]
    public async Task Heartbeat_keeps_a_client_that_answers_pings()
    {
        await using var server = await TestServer.StartAsync(new RecordingHandler(), o => o with
        {
            HeartbeatInterval = TimeSpan.FromMilliseconds(100),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(1000),
        });
        using var client = new ClientWebSocket(); // ManagedWebSocket answers pings while a receive is pending
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        var receive = client.ReceiveAsync(new byte[16], CancellationToken.None);

        // A dozen pings; without pongs the connection would be cut after 1.1 s. The window is a sleep on purpose (it
        // watches for something that must not happen); load can only make it see fewer pings, never fail it, unless a
        // pong took 1 s to come back on loopback, a thousand times its unloaded time.
        await Task.Delay(2000);

        Assert.Equal(WebSocketState.Open, client.State);
        Assert.False(receive.IsCompleted);
        Assert.Equal(1, server.Server.ConnectionCount);
    }

    [Fact]
    public async Task A_client_that_stops_reading_hits_backpressure_and_memory_stays_bounded()
    {
        var handler = new RecordingHandler();
        await using var server = await TestServer.StartAsync(handler, o => o with { MaxBufferedBytes = 256 * 1024 });
        using var client = await RawClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        WebSocketConnection connection = await handler.Opened.Task;

        var chunk = new byte[16 * 1024];
        SendStatus status = SendStatus.Queued;
        long mostBuffered = 0;
        for (int sent = 0; sent < 100_000 && status == SendStatus.Queued; sent++)
        {
            status = connection.Send(chunk, MessageType.Binary);
            mostBuffered = Math.Max(mostBuffered, connection.BufferedAmount);
            if (sent % 64 == 0)
            {
                await Task.Delay(1); // let the transport hand what it can to the kernel
            }
        }

        Assert.Equal(SendStatus.Backpressure, status);
        Assert.InRange(mostBuffered, 256 * 1024 - chunk.Length, 256 * 1024 + chunk.Length + 16);
        Assert.True(connection.IsOpen, "FailSend keeps the connection");
    }

    [Fact]
    public async Task Slow_consumer_policy_can_close_with_1008()
    {
        var handler = new RecordingHandler();
        await using var server = await TestServer.StartAsync(handler, o => o with
        {
            MaxBufferedBytes = 64 * 1024,
            SlowConsumerPolicy = SlowConsumerPolicy.ClosePolicyViolation,
            CloseTimeout = TimeSpan.FromMilliseconds(300), // keeps the test quick; the drain below is a hang bound
        });
        using var client = await RawClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();
        WebSocketConnection connection = await handler.Opened.Task;

        var chunk = new byte[16 * 1024];
        SendStatus status = SendStatus.Queued;
        for (int i = 0; i < 100_000 && status == SendStatus.Queued; i++)
        {
            status = connection.Send(chunk, MessageType.Binary);
        }

        Assert.Equal(SendStatus.Backpressure, status);
        Assert.False(connection.IsOpen);
        await server.AssertDrainedAsync();
        Assert.Equal([CloseCode.PolicyViolation], handler.Closes.ToArray());
    }

    [Fact]
    public async Task Stop_sends_1001_to_every_client_and_waits_for_the_replies()
    {
        var handler = new RecordingHandler();
        var server = await TestServer.StartAsync(handler);
        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < 5; i++)
        {
            var client = new ClientWebSocket();
            await client.ConnectAsync(server.Uri, CancellationToken.None);
            clients.Add(client);
        }
        var receives = clients.Select(c => c.ReceiveAsync(new byte[16], CancellationToken.None)).ToArray();

        Task stop = server.Server.StopAsync();
        var results = await Task.WhenAll(receives);
        foreach (var client in clients)
        {
            await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
        await stop;

        Assert.All(results, r => Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, r.CloseStatus));
        Assert.Equal(0, server.Server.ConnectionCount);
        Assert.Equal(0, server.Server.OutstandingBuffers);
        Assert.Equal(5, handler.Closes.Count);
        Assert.Throws<InvalidOperationException>(() => server.Server.Accept(new MemoryStream()));
    }

    private sealed class RecordingHandler : IWebSocketHandler
    {
        public CloseCode? CloseOnMessage;
        public readonly ConcurrentQueue<CloseCode> Closes = new();
        public readonly ConcurrentQueue<string> Reasons = new();
        public readonly TaskCompletionSource<WebSocketConnection> Opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public WebSocketConnection? LastConnection;

        public void OnOpen(WebSocketConnection connection)
        {
            LastConnection = connection;
            Opened.TrySetResult(connection);
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
            if (CloseOnMessage is { } code)
            {
                connection.Close(code, "requested");
            }
        }

        public void OnClose(WebSocketConnection connection, CloseCode code, string reason)
        {
            Closes.Enqueue(code);
            Reasons.Enqueue(reason);
        }
    }
}
