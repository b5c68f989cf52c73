using System.Net.WebSockets;
using System.Text;
using Host;

namespace Engine.Tests.Integration;

/// <summary>The echo Host's handler against .NET's own ClientWebSocket, a peer nobody here wrote.</summary>
public sealed class EchoTests
{
    [Theory]
    [InlineData(WebSocketMessageType.Text, 0)]
    [InlineData(WebSocketMessageType.Text, 5)]
    [InlineData(WebSocketMessageType.Binary, 125)]
    [InlineData(WebSocketMessageType.Binary, 126)]
    [InlineData(WebSocketMessageType.Binary, 65535)]
    [InlineData(WebSocketMessageType.Text, 65536)]
    [InlineData(WebSocketMessageType.Binary, 1_000_000)]
    public async Task Echoes_text_and_binary_of_every_length_encoding(WebSocketMessageType type, int length)
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        byte[] payload = Payload(length, type == WebSocketMessageType.Text);

        await client.SendAsync(payload, type, true, CancellationToken.None);
        (WebSocketMessageType receivedType, byte[] received) = await ReceiveMessageAsync(client);

        Assert.Equal(type, receivedType);
        Assert.Equal(payload, received);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task Reassembles_a_fragmented_message()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        byte[] payload = Payload(30_000, text: true);

        for (int offset = 0; offset < payload.Length; offset += 7_000)
        {
            int count = Math.Min(7_000, payload.Length - offset);
            await client.SendAsync(payload.AsMemory(offset, count), WebSocketMessageType.Text, offset + count == payload.Length, CancellationToken.None);
        }
        (WebSocketMessageType type, byte[] received) = await ReceiveMessageAsync(client);

        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal(payload, received);
    }

    [Fact]
    public async Task Echoes_a_16_MiB_message_and_keeps_pipelined_messages_in_order()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        byte[] big = Payload(16 * 1024 * 1024, text: false);

        Task send = Task.Run(async () =>
        {
            await client.SendAsync(big, WebSocketMessageType.Binary, true, CancellationToken.None);
            for (int i = 0; i < 100; i++)
            {
                await client.SendAsync(Encoding.UTF8.GetBytes($"m{i}"), WebSocketMessageType.Text, true, CancellationToken.None);
            }
        });
        (_, byte[] first) = await ReceiveMessageAsync(client);
        Assert.Equal(big, first);
        for (int i = 0; i < 100; i++)
        {
            (_, byte[] next) = await ReceiveMessageAsync(client);
            Assert.Equal($"m{i}", Encoding.UTF8.GetString(next));
        }
        await send;
    }

    [Fact]
    public async Task A_message_over_the_limit_closes_with_1009()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { MaxMessageSize = 1000 });
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);

        await client.SendAsync(new byte[1001], WebSocketMessageType.Binary, true, CancellationToken.None);
        var result = await client.ReceiveAsync(new byte[16], CancellationToken.None);

        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, result.CloseStatus);
    }

    [Fact]
    public async Task Several_servers_run_side_by_side_in_one_process()
    {
        await using var first = await TestServer.StartAsync(new EchoHandler());
        await using var second = await TestServer.StartAsync(new EchoHandler());
        foreach (TestServer server in new[] { first, second })
        {
            using var client = new ClientWebSocket();
            await client.ConnectAsync(server.Uri, CancellationToken.None);
            await client.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal("hi", Encoding.UTF8.GetString((await ReceiveMessageAsync(client)).Payload));
            Assert.Equal(1, server.Server.ConnectionCount);
        }
    }

    internal static byte[] Payload(int length, bool text)
    {
        var bytes = new byte[length];
        var random = new Random(length);
        for (int i = 0; i < length; i++)
        {
            bytes[i] = text ? (byte)random.Next(0x20, 0x7F) : (byte)random.Next(256);
        }
        return bytes;
    }

    internal static Task<(WebSocketMessageType Type, byte[] Payload)> ReceiveMessageAsync(WebSocket client) =>
        WebSocketMessages.ReceiveAsync(client);
}
