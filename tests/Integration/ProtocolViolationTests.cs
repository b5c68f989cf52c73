using System.Text;
using Engine.Protocol;
using Host;

namespace Engine.Tests.Integration;

/// <summary>Bytes that break RFC 6455 close the connection with the RFC's code, over a real socket.</summary>
public sealed class ProtocolViolationTests
{
    public static TheoryData<string, byte[], int> Violations => new()
    {
        { "unmasked frame", RawClient.Frame(Opcode.Text, "hi"u8, masked: false), 1002 },
        { "reserved bit", RawClient.Frame(Opcode.Text, "hi"u8, rsv: 4), 1002 },
        { "reserved opcode", RawClient.Frame((Opcode)3, "hi"u8), 1002 },
        { "ping over 125 bytes", RawClient.Frame(Opcode.Ping, new byte[126]), 1002 },
        { "fragmented ping", RawClient.Frame(Opcode.Ping, "x"u8, fin: false), 1002 },
        { "continuation first", RawClient.Frame(Opcode.Continuation, "x"u8), 1002 },
        { "text inside a fragmented message", [.. RawClient.Frame(Opcode.Text, "a"u8, fin: false), .. RawClient.Frame(Opcode.Text, "b"u8)], 1002 },
        { "invalid UTF-8", RawClient.Frame(Opcode.Text, [0xCE, 0xBA, 0xED, 0xA0, 0x80]), 1007 },
        { "invalid UTF-8 across fragments", [.. RawClient.Frame(Opcode.Text, [0xF0, 0x90], fin: false), .. RawClient.Frame(Opcode.Continuation, [0x41])], 1007 },
        { "close with 1 byte", RawClient.Frame(Opcode.Close, [0x03]), 1002 },
        { "close code 1005", RawClient.Frame(Opcode.Close, [0x03, 0xED]), 1002 },
        { "close code 999", RawClient.Frame(Opcode.Close, [0x03, 0xE7]), 1002 },
        { "close code 5000", RawClient.Frame(Opcode.Close, [0x13, 0x88]), 1002 },
        { "close reason not UTF-8", RawClient.Frame(Opcode.Close, [0x03, 0xE8, 0xFF]), 1007 },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task Closes_with_the_rfc_code(string name, byte[] bytes, int expectedCode)
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = await RawClient.ConnectAsync(server.Port);
        Assert.Equal("HTTP/1.1 101 Switching Protocols", await client.HandshakeAsync());

        await client.SendAsync(bytes);

        Assert.True(expectedCode == await client.ReadCloseCodeAsync(), name);
        Assert.True(await client.WaitForEndAsync(TestTimeouts.Hang), "server closes TCP after the close frame");
        client.Dispose();
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task Ping_gets_a_pong_with_the_same_payload_even_inside_a_fragmented_message()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = await RawClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();

        await client.SendAsync([
            .. RawClient.Frame(Opcode.Text, "frag"u8, fin: false),
            .. RawClient.Frame(Opcode.Ping, "are you there"u8),
            .. RawClient.Frame(Opcode.Pong, "unsolicited"u8),
            .. RawClient.Frame(Opcode.Continuation, "ment"u8),
        ]);

        var pong = await client.ReadFrameAsync();
        Assert.Equal(Opcode.Pong, pong!.Value.Opcode);
        Assert.Equal("are you there", Encoding.UTF8.GetString(pong.Value.Payload));
        var echo = await client.ReadFrameAsync();
        Assert.Equal(Opcode.Text, echo!.Value.Opcode);
        Assert.Equal("fragment", Encoding.UTF8.GetString(echo.Value.Payload));
    }

    [Fact]
    public async Task Close_is_echoed_with_the_same_code_then_tcp_closes()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = await RawClient.ConnectAsync(server.Port);
        await client.HandshakeAsync();

        await client.SendAsync([.. RawClient.Frame(Opcode.Close, [0x0F, 0xA1, (byte)'o', (byte)'k']), .. RawClient.Frame(Opcode.Text, "ignored"u8)]);

        Assert.Equal(4001, await client.ReadCloseCodeAsync());
        Assert.True(await client.WaitForEndAsync(TestTimeouts.Hang));
    }

    [Fact]
    public async Task Frames_pipelined_behind_the_upgrade_request_are_processed()
    {
        await using var server = await TestServer.StartAsync(new EchoHandler());
        using var client = await RawClient.ConnectAsync(server.Port);

        await client.SendAsync([.. Encoding.ASCII.GetBytes(RawClient.UpgradeRequest()), .. RawClient.Frame(Opcode.Text, "early"u8)]);

        Assert.StartsWith("HTTP/1.1 101", await client.ReadHeadAsync());
        var echo = await client.ReadFrameAsync();
        Assert.Equal("early", Encoding.UTF8.GetString(echo!.Value.Payload));
    }
}
