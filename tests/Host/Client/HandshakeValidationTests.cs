using System.Net;
using System.Net.Sockets;
using System.Text;
using Engine.Client;

namespace Engine.Tests.ClientTests;

/// <summary>The client's opening handshake checks (RFC 6455 §4.1), against a scripted fake server and the real engine.</summary>
public sealed class HandshakeValidationTests
{
    [Fact]
    public void The_accept_key_is_the_RFC_example() =>
        // RFC 6455 §1.3's worked example.
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketClientConnection.ComputeAccept("dGhlIHNhbXBsZSBub25jZQ=="));

    public static TheoryData<string, string> BadResponses => new()
    {
        { "wrong accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" },
        { "no accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" },
        { "not 101", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" },
        { "no upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n" },
        { "unoffered subprotocol", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: other\r\n\r\n" },
        { "unoffered extension", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(BadResponses))]
    public async Task A_bad_handshake_response_is_refused(string why, string response)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task server = Task.Run(async () =>
        {
            using TcpClient peer = await listener.AcceptTcpClientAsync();
            NetworkStream stream = peer.GetStream();
            byte[] buffer = new byte[4096];
            int length = 0;
            while (!Encoding.ASCII.GetString(buffer, 0, length).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int read = await stream.ReadAsync(buffer.AsMemory(length));
                if (read == 0)
                {
                    return;
                }
                length += read;
            }
            string request = Encoding.ASCII.GetString(buffer, 0, length);
            string key = request.Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))[18..].Trim();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(response.Replace("{accept}", WebSocketClientConnection.ComputeAccept(key), StringComparison.Ordinal)));
            // Hold the connection until the client drops it (it disposes its socket when it refuses the response): a
            // signal instead of a 500 ms sleep, so the client's verdict never races our close, however loaded the box.
            try
            {
                using var hang = new CancellationTokenSource(TestTimeouts.Hang);
                while (await stream.ReadAsync(buffer, hang.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
                // A reset instead of a FIN: the client is gone all the same.
            }
        });
        var uri = new Uri($"ws://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        var error = await Assert.ThrowsAsync<WebSocketHandshakeException>(() => WebSocketClientConnection.ConnectAsync(uri, ["chat"]).WaitAsync(TestTimeouts.Hang));
        Assert.False(string.IsNullOrEmpty(error.Message), why);
        await server.WaitAsync(TestTimeouts.Hang);
    }

    [Fact]
    public async Task A_subprotocol_the_server_selects_from_the_offer_is_reported_and_frames_flow_both_ways()
    {
        await using var server = await TestServer.StartAsync(new SubprotocolEcho());
        await using var connection = await WebSocketClientConnection.ConnectAsync(server.Uri, ["v2.chat", "v1.chat"]).WaitAsync(TestTimeouts.Hang);
        Assert.Equal("v1.chat", connection.Subprotocol);
        byte[] big = new byte[70_000]; // 64-bit length form
        Random.Shared.NextBytes(big);
        await connection.SendAsync(Opcode.Binary, big);
        ReceivedMessage echo = await connection.ReceiveAsync().WaitAsync(TestTimeouts.Hang);
        Assert.Equal(Opcode.Binary, echo.Type);
        Assert.Equal(big, echo.Payload);
        await connection.CloseAsync(1000, "bye");
        ReceivedMessage close = await connection.ReceiveAsync().WaitAsync(TestTimeouts.Hang);
        Assert.Equal((Opcode.Close, 1000), (close.Type, close.CloseCode));
    }

    private sealed class SubprotocolEcho : IWebSocketHandler
    {
        public UpgradeDecision OnUpgrade(RequestHead request) =>
            UpgradeDecision.Accept(request.RequestedSubprotocols.Contains("v1.chat") ? "v1.chat" : null);

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type) => connection.Send(payload, type);
    }
}
