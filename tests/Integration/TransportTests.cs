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
    public async Task Connections_beyond_the_descriptor_budget_are_shed_at_once_and_the_server_keeps_serving()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        if (server.Server.ActiveTransport == TransportKind.Sockets)
        {
            return; // the budget is the Linux loops' (they accept with accept4); .NET's accept loop has its own behaviour
        }
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
            using (var refused = new ClientWebSocket())
            {
                // Closed at once, not left waiting: the connect fails well before the hang bound.
                await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(server.Uri, CancellationToken.None).WaitAsync(TestTimeouts.Hang));
            }
            Assert.True(budget.Shed >= 1);
            foreach (ClientWebSocket client in held)
            {
                await client.SendAsync("kept"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
                Assert.Equal("kept", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
            }

            // One leaves: its descriptor goes back and a new connection fits again.
            await held[0].CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            using var wait = new CancellationTokenSource(TestTimeouts.Hang);
            while (budget.Open > 2)
            {
                await Task.Delay(10, wait.Token);
            }
            using var again = new ClientWebSocket();
            await again.ConnectAsync(server.Uri, CancellationToken.None);
            await again.SendAsync("fits"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal("fits", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(again)).Payload));
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
        // Two receive buffers per loop for 48 connections that all send at once: most receives find none free.
        await using var server = await TestServer.StartAsync(new EchoHandler(),
            o => o with { Transport = TransportKind.IoUring, UringReceiveBuffers = 2, EventLoops = 1 });
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < 48; i++)
            {
                RawClient client = await RawClient.ConnectAsync(server.Port);
                Assert.Contains("101 Switching Protocols", await client.HandshakeAsync());
                clients.Add(client);
            }
            for (int round = 0; round < 10; round++)
            {
                // Each client sends 3 KiB in 3 frames; all sends start before any reply is read.
                byte[][] payloads = clients.Select((_, i) => Encoding.ASCII.GetBytes($"{round}:{i}:" + new string('x', 3000))).ToArray();
                await Task.WhenAll(clients.Select((client, i) => client.SendAsync(
                    [.. RawClient.Frame(Opcode.Text, payloads[i].AsSpan(0, 1000), fin: false),
                     .. RawClient.Frame(Opcode.Continuation, payloads[i].AsSpan(1000, 1000), fin: false),
                     .. RawClient.Frame(Opcode.Continuation, payloads[i].AsSpan(2000), fin: true)])));
                for (int i = 0; i < clients.Count; i++)
                {
                    var frame = await clients[i].ReadFrameAsync();
                    Assert.NotNull(frame);
                    Assert.Equal(Opcode.Text, frame.Value.Opcode);
                    Assert.Equal(payloads[i], frame.Value.Payload);
                }
            }
        }
        finally
        {
            foreach (RawClient client in clients)
            {
                client.Dispose();
            }
        }
        await server.AssertDrainedAsync();
        long starved = server.Server.Loops!.EventLoops.Cast<UringLoop>().Sum(loop => loop.StarvedReceives);
        Assert.True(starved > 0, "no receive ever found the buffers taken: the test did not reach the path it is for");
    }

    [Fact]
    public void The_io_uring_transport_refuses_TLS_at_validation()
    {
        var options = new WebSocketServerOptions { Transport = TransportKind.IoUring, Tls = new System.Net.Security.SslServerAuthenticationOptions() };
        Assert.Throws<ArgumentException>(options.Validate);
    }
}
