using System.Net.WebSockets;
using Engine;
using Engine.Protocol;
using Host;

namespace Engine.Tests.Integration;

/// <summary>Configured limits, each over a real socket.</summary>
public sealed class LimitsTests
{
    [Fact]
    public async Task Beyond_max_connections_upgrades_get_503_and_open_connections_are_untouched()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { MaxConnections = 2 });
        using var first = new ClientWebSocket();
        using var second = new ClientWebSocket();
        await first.ConnectAsync(server.Uri, CancellationToken.None);
        await second.ConnectAsync(server.Uri, CancellationToken.None);

        using (var third = await RawClient.ConnectAsync(server.Port))
        {
            Assert.Equal("HTTP/1.1 503 Service Unavailable", await third.HandshakeAsync());
        }
        await first.SendAsync("still here"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("still here", System.Text.Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(first)).Payload));

        await second.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
        while (server.Server.OpenWebSocketCount > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        using var again = new ClientWebSocket();
        await again.ConnectAsync(server.Uri, CancellationToken.None); // a slot is free again
        Assert.Equal(2, server.Server.OpenWebSocketCount);
    }

    [Fact]
    public async Task A_message_in_too_many_fragments_closes_with_1009()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { MaxFragmentsPerMessage = 100 });
        using var client = await RawClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();

        var frames = new List<byte>(RawClient.Frame(Opcode.Text, "a"u8, fin: false));
        for (int i = 0; i < 99; i++)
        {
            frames.AddRange(RawClient.Frame(Opcode.Continuation, "a"u8, fin: false));
        }
        frames.AddRange(RawClient.Frame(Opcode.Continuation, "a"u8, fin: true)); // the 101st frame
        await client.SendAsync(frames.ToArray());

        Assert.Equal(1009, await client.ReadCloseCodeAsync());
    }

    [Fact]
    public async Task A_message_in_exactly_the_allowed_fragments_is_delivered()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { MaxFragmentsPerMessage = 100 });
        using var client = await RawClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();

        var frames = new List<byte>(RawClient.Frame(Opcode.Text, "a"u8, fin: false));
        for (int i = 0; i < 98; i++)
        {
            frames.AddRange(RawClient.Frame(Opcode.Continuation, "a"u8, fin: false));
        }
        frames.AddRange(RawClient.Frame(Opcode.Continuation, "a"u8, fin: true));
        await client.SendAsync(frames.ToArray());

        var echo = await client.ReadFrameAsync();
        Assert.Equal(Opcode.Text, echo!.Value.Opcode);
        Assert.Equal(100, echo.Value.Payload.Length);
    }

    [Fact]
    public async Task A_throwing_upgrade_hook_answers_500_and_the_server_keeps_serving()
    {
        await using var server = await TestServer.StartAsync(new ThrowingUpgradeHandler());
        using (var client = await RawClient.ConnectAsync(server.Port))
        {
            Assert.Equal("HTTP/1.1 500 Internal Server Error", await client.HandshakeAsync());
        }
        await server.AssertDrainedAsync();
        Assert.Equal(0, server.Server.OpenWebSocketCount);
    }

    [Fact]
    public async Task Abort_from_inside_a_message_callback_ends_cleanly_and_later_connections_work()
    {
        await using var server = await TestServer.StartAsync(new AbortOnMessageHandler());
        for (int i = 0; i < 20; i++)
        {
            using var client = await RawClient.ConnectAsync(server.Port);
            await client.HandshakeAsync();
            // Two messages in one read: the first aborts, the second must not reach a recycled session.
            await client.SendAsync([.. RawClient.Frame(Opcode.Text, "abort"u8), .. RawClient.Frame(Opcode.Text, "after"u8)]);
            Assert.True(await client.WaitForEndAsync(TestTimeouts.Hang));
        }
        await server.AssertDrainedAsync();
        using var echo = await RawClient.ConnectAsync(server.Port);
        await echo.HandshakeAsync();
        await echo.SendAsync(RawClient.Frame(Opcode.Text, "hello"u8));
        Assert.Equal("hello", System.Text.Encoding.UTF8.GetString((await echo.ReadFrameAsync())!.Value.Payload));
    }

    private sealed class AbortOnMessageHandler : IWebSocketHandler
    {
        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
            if (payload.SequenceEqual("abort"u8))
            {
                connection.Abort();
            }
            else
            {
                connection.Send(payload, type);
            }
        }
    }

    private sealed class ThrowingUpgradeHandler : IWebSocketHandler
    {
        public UpgradeDecision OnUpgrade(RequestHead request) => throw new InvalidOperationException("bug in the hook");

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
