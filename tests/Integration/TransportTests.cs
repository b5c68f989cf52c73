using System.Net.WebSockets;
using System.Text;
using Engine.Protocol;
using Engine.Transports.IoUring;
using Host;

namespace Engine.Tests.Integration;

/// <summary>What the Linux transports do beyond the echo every integration test runs on them.</summary>
public sealed class TransportTests
{
    [Fact]
    public async Task Auto_runs_on_io_uring_where_the_kernel_allows_it_else_epoll_else_sockets()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { Transport = TransportKind.Auto });
        TransportKind expected = UringLoop.IsSupported ? TransportKind.IoUring
            : Engine.Transports.Linux.Native.IsSupported ? TransportKind.Epoll
            : TransportKind.Sockets;

        Assert.Equal(expected, server.Server.ActiveTransport);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        await client.SendAsync("on the chosen transport"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("on the chosen transport", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
    }

    public static TheoryData<TransportKind> ListeningTransports => [TransportKind.IoUring, TransportKind.Epoll, TransportKind.Sockets];

    [Theory]
    [MemberData(nameof(ListeningTransports))]
    public async Task A_second_server_on_a_port_already_listened_on_fails_to_start(TransportKind second)
    {
        if (second == TransportKind.IoUring && !UringLoop.IsSupported)
        {
            return; // io_uring forbidden here: the other two still run
        }
        // The listeners share their port through SO_REUSEPORT, so without a check the second server bound anyway and
        // took half of the first one's connections.
        await using var first = await TestServer.StartAsync(new EchoHandler());
        var options = new WebSocketServerOptions { Address = System.Net.IPAddress.Loopback, Port = first.Server.LocalEndPoint.Port, Transport = second };
        await using var server = new WebSocketServer(options, new EchoHandler());
        var error = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => server.StartAsync());
        Assert.Equal(System.Net.Sockets.SocketError.AddressAlreadyInUse, error.SocketErrorCode);

        // The first one still serves.
        using var client = new ClientWebSocket();
        await client.ConnectAsync(first.Uri, CancellationToken.None);
        await client.SendAsync("still mine"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("still mine", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
    }

    [Fact]
    public async Task Connections_beyond_the_descriptor_budget_wait_in_the_accept_queue_until_one_leaves()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        // The process's real budget is its open-files limit less a reserve; a small one stands in for it here.
        Engine.Transports.DescriptorBudget budget = server.Server.Buffers.Descriptors;
        budget.Max = 3;
        var held = new List<ClientWebSocket>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var client = new ClientWebSocket();
                held.Add(client);
                await client.ConnectAsync(server.Uri, CancellationToken.None);
            }
            // The fourth is connected by the kernel but not accepted: its upgrade waits (not refused, not answered).
            using var waiting = new ClientWebSocket();
            Task connecting = waiting.ConnectAsync(server.Uri, CancellationToken.None);
            using (var paused = new CancellationTokenSource(TestTimeouts.Hang))
            {
                while (budget.Pauses == 0)
                {
                    await Task.Delay(10, paused.Token);
                }
            }
            // Whatever the load, the upgrade cannot complete while the budget is spent: 300 ms only gives a wrong
            // answer time to show.
            await Task.Delay(300);
            Assert.False(connecting.IsCompleted, $"the fourth connection was answered beyond the budget: {connecting.Status}");
            foreach (ClientWebSocket client in held)
            {
                await client.SendAsync("kept"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
                Assert.Equal("kept", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
            }

            // One leaves: its descriptor goes back and the waiting connection is accepted and served.
            await held[0].CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            await connecting.WaitAsync(TestTimeouts.Hang);
            await waiting.SendAsync("fits"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal("fits", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(waiting)).Payload));
            Assert.True(budget.Open <= 3, $"{budget.Open} descriptors held against a budget of 3");
        }
        finally
        {
            foreach (ClientWebSocket client in held)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task Io_uring_receives_that_find_every_shared_buffer_taken_wait_and_lose_nothing()
    {
        if (!UringLoop.IsSupported)
        {
            return; // io_uring forbidden here (e.g. a container's seccomp profile): nothing to test
        }
        // Two receive buffers for the loop's 48 connections. Each round the handler holds the loop thread while every client
        // sends, so when the loop next enters the kernel 48 receives find data at once and all but two find no buffer. Left to
        // chance (clients racing the loop) the path was reached on some machines only.
        var handler = new StallingEchoHandler();
        await using var server = await TestServer.StartAsync(handler,
            o => o with { Transport = TransportKind.IoUring, UringReceiveBuffers = 2, EventLoops = 1 });
        var clients = new List<RawClient>();
        try
        {
            RawClient staller = await RawClient.ConnectAsync(server.Port);
            clients.Add(staller);
            Assert.Contains("101 Switching Protocols", await staller.HandshakeAsync());
            var senders = new List<RawClient>();
            for (int i = 0; i < 48; i++)
            {
                RawClient client = await RawClient.ConnectAsync(server.Port);
                clients.Add(client);
                Assert.Contains("101 Switching Protocols", await client.HandshakeAsync());
                senders.Add(client);
            }
            for (int round = 0; round < 5; round++)
            {
                Task held = handler.NextStall();
                await staller.SendAsync(RawClient.Frame(Opcode.Text, StallingEchoHandler.Stall));
                await held.WaitAsync(TestTimeouts.Hang);
                // Each client sends 3 KiB in 3 frames while the loop is held; the kernel queues it all on the sockets.
                byte[][] payloads = senders.Select((_, i) => Encoding.ASCII.GetBytes($"{round}:{i}:" + new string('x', 3000))).ToArray();
                await Task.WhenAll(senders.Select((client, i) => client.SendAsync(
                    [.. RawClient.Frame(Opcode.Text, payloads[i].AsSpan(0, 1000), fin: false),
                     .. RawClient.Frame(Opcode.Continuation, payloads[i].AsSpan(1000, 1000), fin: false),
                     .. RawClient.Frame(Opcode.Continuation, payloads[i].AsSpan(2000), fin: true)])));
                handler.Release();
                Assert.Equal(StallingEchoHandler.Stall, (await staller.ReadFrameAsync())!.Value.Payload);
                for (int i = 0; i < senders.Count; i++)
                {
                    var frame = await senders[i].ReadFrameAsync();
                    Assert.NotNull(frame);
                    Assert.Equal(Opcode.Text, frame.Value.Opcode);
                    Assert.Equal(payloads[i], frame.Value.Payload);
                }
            }
        }
        finally
        {
            handler.Release();
            foreach (RawClient client in clients)
            {
                client.Dispose();
            }
        }
        await server.AssertDrainedAsync();
        long starved = server.Server.Loops!.EventLoops.Cast<UringLoop>().Sum(loop => loop.StarvedReceives);
        // Each held round leaves at least 46 receives without a buffer (about 2,700 in all here); one per round is the floor.
        Assert.True(starved >= 5, $"only {starved} receives found the buffers taken: the test did not reach the path it is for");
    }

    /// <summary>Echoes; on <see cref="Stall"/> it holds the calling loop thread until the test releases it.</summary>
    private sealed class StallingEchoHandler : IWebSocketHandler
    {
        public static readonly byte[] Stall = "stall"u8.ToArray();
        private readonly SemaphoreSlim _gate = new(0);
        private TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task NextStall()
        {
            _stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _stalled.Task;
        }

        public void Release() => _gate.Release();

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
            if (payload.SequenceEqual(Stall))
            {
                _stalled.TrySetResult();
                _gate.Wait(TestTimeouts.Hang); // bounded so a failed test cannot hold the loop for ever
            }
            connection.Send(payload, type);
        }
    }

    [Fact]
    public void The_io_uring_transport_refuses_TLS_at_validation()
    {
        var options = new WebSocketServerOptions { Transport = TransportKind.IoUring, Tls = new System.Net.Security.SslServerAuthenticationOptions() };
        Assert.Throws<ArgumentException>(options.Validate);
    }
}
