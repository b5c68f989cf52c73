using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Engine;
using Host;

namespace Engine.Tests.Integration;

/// <summary>The embedding surface: taking over connections, streamed delivery, idle timeout.</summary>
public sealed class EmbeddingTests
{
    [Fact]
    public async Task Takes_over_an_accepted_socket_and_a_stream()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var uri = new Uri($"ws://127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}/");

        for (int round = 0; round < 2; round++)
        {
            using var client = new ClientWebSocket();
            Task connect = client.ConnectAsync(uri, CancellationToken.None);
            Socket accepted = await listener.AcceptAsync();
            if (round == 0)
            {
                server.Server.Accept(accepted);
            }
            else
            {
                server.Server.Accept(new NetworkStream(accepted, ownsSocket: true), accepted.RemoteEndPoint);
            }
            await connect;

            await client.SendAsync(Encoding.UTF8.GetBytes($"round {round}"), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal($"round {round}", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        }
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task Streamed_delivery_hands_over_pieces_without_reassembly()
    {
        var handler = new StreamingHandler();
        await using var server = await TestServer.StartAsync(handler, o => o with { MessageDelivery = MessageDelivery.Streamed, MaxMessageSize = 64 * 1024 * 1024 });
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        byte[] payload = EchoTests.Payload(20 * 1024 * 1024, text: false);

        for (int offset = 0; offset < payload.Length; offset += 1024 * 1024)
        {
            await client.SendAsync(payload.AsMemory(offset, 1024 * 1024), WebSocketMessageType.Binary, offset + 1024 * 1024 == payload.Length, CancellationToken.None);
        }
        (_, byte[] summary) = await EchoTests.ReceiveMessageAsync(client);

        Assert.Equal($"{payload.Length} bytes in {handler.Pieces} pieces, checksum {Checksum(payload)}", Encoding.UTF8.GetString(summary));
        Assert.True(handler.Pieces > 20, "delivered as it arrived, not as one message");
    }

    [Fact]
    public async Task Idle_timeout_closes_a_silent_connection_with_1001()
    {
        // 300 ms keeps the test quick; nothing here is timed but the hang bound on the receive (a loaded box only
        // makes the close come later).
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = new ClientWebSocket();
        await client.ConnectAsync(server.Uri, CancellationToken.None);

        using var hang = new CancellationTokenSource(TestTimeouts.Hang);
        var result = await client.ReceiveAsync(new byte[16], hang.Token);

        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, result.CloseStatus);
        Assert.Equal("idle timeout", result.CloseStatusDescription);
    }

    private static long Checksum(ReadOnlySpan<byte> data)
    {
        long sum = 0;
        foreach (byte b in data)
        {
            sum = (sum * 31) + b;
        }
        return sum;
    }

    private sealed class StreamingHandler : IWebSocketHandler
    {
        private long _length;
        private long _checksum;
        public int Pieces;

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type) =>
            throw new InvalidOperationException("streamed mode must not deliver whole messages");

        public void OnMessageFragment(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage)
        {
            Pieces++;
            _length += payload.Length;
            foreach (byte b in payload)
            {
                _checksum = (_checksum * 31) + b;
            }
            if (endOfMessage)
            {
                connection.SendText($"{_length} bytes in {Pieces} pieces, checksum {_checksum}");
            }
        }
    }
}
