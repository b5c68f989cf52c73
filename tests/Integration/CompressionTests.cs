using System.IO.Compression;
using System.Net.WebSockets;
using System.Text;
using Engine.Protocol;
using Host;

namespace Engine.Tests.Integration;

/// <summary>permessage-deflate (RFC 7692) against .NET's ClientWebSocket with DangerousDeflateOptions, and raw frames for the wire rules.</summary>
public sealed class CompressionTests
{
    private static Func<WebSocketServerOptions, WebSocketServerOptions> Deflate(Func<CompressionOptions, CompressionOptions>? configure = null) =>
        o => o with { Compression = configure is null ? new CompressionOptions { Enabled = true } : configure(new CompressionOptions { Enabled = true }) };

    private static async Task<ClientWebSocket> ConnectAsync(TestServer server, WebSocketDeflateOptions? deflate)
    {
        var client = new ClientWebSocket();
        client.Options.DangerousDeflateOptions = deflate;
        await client.ConnectAsync(server.Uri, CancellationToken.None);
        return client;
    }

    /// <summary>JSON-like text: compressible, like what the Host sends.</summary>
    private static byte[] Compressible(int length, int seed)
    {
        var text = new StringBuilder();
        var random = new Random(seed);
        while (text.Length < length)
        {
            text.Append("{\"type\":\"message\",\"channel\":\"room-").Append(random.Next(10)).Append("\",\"content\":\"")
                .Append(random.Next(1_000_000)).Append("\"},");
        }
        return Encoding.UTF8.GetBytes(text.ToString(0, length));
    }

    public static TheoryData<bool, bool, bool, bool, int, int> Combinations()
    {
        var data = new TheoryData<bool, bool, bool, bool, int, int>();
        foreach (bool serverNoContext in new[] { false, true })
        {
            foreach (bool clientContext in new[] { false, true })
            {
                data.Add(serverNoContext, false, clientContext, true, 15, 15);
            }
        }
        data.Add(true, true, true, true, 15, 15);
        data.Add(false, false, true, true, 9, 9);
        data.Add(true, false, false, false, 12, 10);
        data.Add(false, true, true, false, 9, 15);
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Echoes_many_messages_for_every_context_and_window_combination(bool serverForcesNoContext, bool serverForcesClientNoContext,
        bool clientContextTakeover, bool serverContextTakeover, int clientBits, int serverBits)
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate(c => c with
        {
            ServerNoContextTakeover = serverForcesNoContext,
            ClientNoContextTakeover = serverForcesClientNoContext,
            Threshold = 64,
        }));
        using ClientWebSocket client = await ConnectAsync(server, new WebSocketDeflateOptions
        {
            ClientContextTakeover = clientContextTakeover,
            ServerContextTakeover = serverContextTakeover,
            ClientMaxWindowBits = clientBits,
            ServerMaxWindowBits = serverBits,
        });
        Assert.Contains("permessage-deflate", client.HttpResponseHeaders?.GetValueOrDefault("Sec-WebSocket-Extensions")?.FirstOrDefault() ?? "permessage-deflate");

        int[] lengths = [0, 10, 63, 64, 300, 1000, 4096, 40_000, 70_000, 300_000];
        for (int round = 0; round < 3; round++)
        {
            foreach (int length in lengths)
            {
                byte[] payload = round == 1 ? EchoTests.Payload(length, text: false) : Compressible(length, length + round);
                var type = round == 1 ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
                await client.SendAsync(payload, type, true, CancellationToken.None);
                (WebSocketMessageType gotType, byte[] got) = await EchoTests.ReceiveMessageAsync(client);
                Assert.Equal(type, gotType);
                Assert.Equal(payload, got);
            }
        }
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        await server.AssertDrainedAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_server_window_of_8_bits_round_trips(bool noContextTakeover)
    {
        // zlib cannot deflate with 8 bits: the server compresses in 256-byte slices instead (see Deflater).
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate(c => c with { ServerMaxWindowBits = 8, ServerNoContextTakeover = noContextTakeover, Threshold = 0 }));
        using ClientWebSocket client = await ConnectAsync(server, new WebSocketDeflateOptions { ClientMaxWindowBits = 9 });
        for (int i = 0; i < 20; i++)
        {
            byte[] payload = Compressible(1 + (i * 7919 % 50_000), i);
            await client.SendAsync(payload, WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal(payload, (await EchoTests.ReceiveMessageAsync(client)).Payload);
        }
    }

    [Fact]
    public async Task A_fragmented_compressed_message_is_inflated_across_frames()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate());
        using ClientWebSocket client = await ConnectAsync(server, new WebSocketDeflateOptions());
        byte[] payload = Compressible(100_000, 7);

        for (int offset = 0; offset < payload.Length; offset += 7_000)
        {
            int count = Math.Min(7_000, payload.Length - offset);
            await client.SendAsync(payload.AsMemory(offset, count), WebSocketMessageType.Text,
                offset + count == payload.Length ? WebSocketMessageFlags.EndOfMessage : WebSocketMessageFlags.None, CancellationToken.None);
        }
        (_, byte[] got) = await EchoTests.ReceiveMessageAsync(client);
        Assert.Equal(payload, got);
    }

    [Fact]
    public async Task Without_an_offer_or_when_disabled_nothing_is_negotiated()
    {
        await using var enabled = await TestServer.StartAsync(new EchoHandler(), Deflate());
        using (ClientWebSocket plain = await ConnectAsync(enabled, null))
        {
            await plain.SendAsync(Compressible(1000, 1), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal(Compressible(1000, 1), (await EchoTests.ReceiveMessageAsync(plain)).Payload);
        }
        await using var disabled = await TestServer.StartAsync(new EchoHandler());
        using var raw = await RawClient.ConnectAsync(disabled.Port);
        await raw.SendAsync(RawClient.UpgradeRequest("Sec-WebSocket-Extensions: permessage-deflate\r\n"));
        string head = await raw.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 101", head);
        Assert.DoesNotContain("Sec-WebSocket-Extensions", head);
    }

    [Fact]
    public async Task A_decompression_bomb_is_stopped_at_the_limit_with_1009()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => Deflate()(o) with { MaxMessageSize = 1 << 20 });
        using ClientWebSocket client = await ConnectAsync(server, new WebSocketDeflateOptions());
        byte[] zeros = new byte[64 << 20]; // 64 MiB of zeros: about 64 KiB on the wire

        await client.SendAsync(zeros, WebSocketMessageType.Binary, true, CancellationToken.None);
        var result = await client.ReceiveAsync(new byte[16], CancellationToken.None);

        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, result.CloseStatus);
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task Rsv1_without_the_extension_closes_with_1002()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate());
        using var raw = await RawClient.ConnectAsync(server.Port);
        Assert.Equal("HTTP/1.1 101 Switching Protocols", await raw.HandshakeAsync());

        await raw.SendAsync(RawClient.Frame(Opcode.Text, RawDeflate("hello"u8), rsv: 4));

        Assert.Equal(1002, await raw.ReadCloseCodeAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rsv1_on_a_control_frame_or_a_continuation_closes_with_1002(bool ping)
    {
        Opcode opCode = ping ? Opcode.Ping : Opcode.Continuation;
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate());
        using var raw = await UpgradedRawAsync(server, "permessage-deflate");
        if (opCode == Opcode.Continuation)
        {
            await raw.SendAsync(RawClient.Frame(Opcode.Text, RawDeflate("hel"u8), fin: false, rsv: 4));
        }
        await raw.SendAsync(RawClient.Frame(opCode, opCode == Opcode.Ping ? "x"u8 : RawDeflate("lo"u8), rsv: 4));

        Assert.Equal(1002, await raw.ReadCloseCodeAsync());
    }

    [Fact]
    public async Task Invalid_deflate_data_closes_with_1007()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate());
        using var raw = await UpgradedRawAsync(server, "permessage-deflate");

        await raw.SendAsync(RawClient.Frame(Opcode.Binary, [0xFF, 0xFF, 0xFF, 0xFF, 0x00], rsv: 4)); // reserved block type 3

        Assert.Equal(1007, await raw.ReadCloseCodeAsync());
    }

    [Fact]
    public async Task Compressed_invalid_utf8_closes_with_1007()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate());
        using var raw = await UpgradedRawAsync(server, "permessage-deflate");

        await raw.SendAsync(RawClient.Frame(Opcode.Text, RawDeflate([0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xED, 0xA0, 0x80]), rsv: 4));

        Assert.Equal(1007, await raw.ReadCloseCodeAsync());
    }

    [Fact]
    public async Task Server_frames_carry_rsv1_and_inflate_with_the_framework_inflater()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate(c => c with { Threshold = 10 }));
        using var raw = await UpgradedRawAsync(server, "permessage-deflate; client_max_window_bits");
        byte[] payload = Compressible(5000, 3);

        // A client may send uncompressed messages too (RSV1 clear) once deflate is agreed.
        await raw.SendAsync(RawClient.Frame(Opcode.Text, payload));
        var frame = await raw.ReadFrameAsync();

        Assert.Equal(4, raw.LastRsv);
        Assert.True(frame!.Value.Payload.Length < payload.Length / 2);
        Assert.Equal(payload, RawInflate(frame.Value.Payload));

        await raw.SendAsync(RawClient.Frame(Opcode.Text, "short"u8));
        frame = await raw.ReadFrameAsync();
        Assert.Equal(0, raw.LastRsv); // under the threshold: sent plain
        Assert.Equal("short", Encoding.UTF8.GetString(frame!.Value.Payload));
    }

    [Fact]
    public async Task The_first_acceptable_offer_wins_and_the_answer_names_its_parameters()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate(c => c with { ClientMaxWindowBits = 10 }));
        using var raw = await RawClient.ConnectAsync(server.Port);
        await raw.SendAsync(RawClient.UpgradeRequest(
            "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; foo=1\r\n" +
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits, permessage-deflate\r\n"));
        string head = await raw.ReadHeadAsync();

        Assert.Contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10\r\n", head);
    }

    [Fact]
    public async Task Pub_sub_compresses_once_for_subscribers_without_context_takeover()
    {
        await using var server = await TestServer.StartAsync(new PublishHandler(), Deflate());
        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < 20; i++)
        {
            // Half keep context takeover on our side (they asked nothing), half ask for no context takeover: with the
            // default ServerNoContextTakeover every one of them shares the compressed frame.
            clients.Add(await ConnectAsync(server, new WebSocketDeflateOptions { ServerContextTakeover = i % 2 == 0 }));
        }
        await using var plainServer = await TestServer.StartAsync(new PublishHandler(), Deflate(c => c with { ServerNoContextTakeover = false }));
        for (int i = 0; i < 4; i++)
        {
            clients.Add(await ConnectAsync(plainServer, new WebSocketDeflateOptions()));
        }
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang; // a bug fails the test instead of hanging the run
        while ((server.Server.PubSub.SubscriberCount("all") < 20 || plainServer.Server.PubSub.SubscriberCount("all") < 4) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        byte[] message = Compressible(20_000, 11);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(20, server.Server.PubSub.Publish("all", message, MessageType.Text));
            Assert.Equal(4, plainServer.Server.PubSub.Publish("all", message, MessageType.Text));
        }
        foreach (ClientWebSocket client in clients)
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.Equal(message, (await EchoTests.ReceiveMessageAsync(client)).Payload);
            }
        }

        // One compression per publish, with pooled deflaters: far fewer deflaters than subscribers.
        Assert.True(server.Server.Settings.Compression!.Pool.LiveDeflaters <= 2, $"{server.Server.Settings.Compression.Pool.LiveDeflaters} deflaters");
        Assert.Equal(4, plainServer.Server.Settings.Compression!.Pool.LiveDeflaters); // context takeover: one each
        foreach (ClientWebSocket client in clients)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task Idle_connections_without_context_takeover_hold_no_zlib_state()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler(), Deflate(c => c with { ClientNoContextTakeover = true, MaxConcurrentCompressions = 4 }));
        var clients = new List<ClientWebSocket>();
        for (int i = 0; i < 30; i++)
        {
            ClientWebSocket client = await ConnectAsync(server, new WebSocketDeflateOptions());
            clients.Add(client);
            await client.SendAsync(Compressible(2000, i), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal(Compressible(2000, i), (await EchoTests.ReceiveMessageAsync(client)).Payload);
        }
        var pool = server.Server.Settings.Compression!.Pool;
        Assert.True(pool.LiveDeflaters <= 4, $"{pool.LiveDeflaters} deflaters for 30 idle connections");
        Assert.True(pool.LiveInflaters <= 4, $"{pool.LiveInflaters} inflaters for 30 idle connections");
        foreach (ClientWebSocket client in clients)
        {
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            client.Dispose();
        }
        await server.AssertDrainedAsync();
        Assert.True(pool.LiveDeflaters + pool.LiveInflaters > 0); // pooled for the next messages while the server runs
        await server.Server.DisposeAsync();
        Assert.Equal((0L, 0L), (pool.LiveDeflaters, pool.LiveInflaters)); // zlib memory freed at stop, not by finalizers
    }

    private static async Task<RawClient> UpgradedRawAsync(TestServer server, string offer)
    {
        var raw = await RawClient.ConnectAsync(server.Port);
        await raw.SendAsync(RawClient.UpgradeRequest($"Sec-WebSocket-Extensions: {offer}\r\n"));
        string head = await raw.ReadHeadAsync();
        Assert.Contains("Sec-WebSocket-Extensions: permessage-deflate", head);
        return raw;
    }

    /// <summary>Raw deflate by the framework's DeflateStream, sync-flushed, tail stripped (RFC 7692 §7.2.1).</summary>
    private static byte[] RawDeflate(ReadOnlySpan<byte> data)
    {
        var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
            deflate.Flush(); // sync flush: ends with 00 00 FF FF
        }
        byte[] bytes = output.ToArray();
        int end = bytes.AsSpan().LastIndexOf((ReadOnlySpan<byte>)[0x00, 0x00, 0xFF, 0xFF]);
        return bytes.AsSpan(0, end).ToArray();
    }

    private static byte[] RawInflate(byte[] compressed)
    {
        using var input = new MemoryStream([.. compressed, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00]); // tail, then a final empty block
        using var inflate = new DeflateStream(input, CompressionMode.Decompress);
        var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Subscribes every connection to "all".</summary>
    private sealed class PublishHandler : IWebSocketHandler
    {
        public void OnOpen(WebSocketConnection connection) => connection.Server.PubSub.Subscribe(connection, "all");

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
