using System.Text;
using Engine.Compression;
using Engine.Protocol;
using Engine.Session;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Session;

/// <summary>permessage-deflate in the session: inflating across frames and reads split anywhere, the limit on inflated bytes, RSV1 rules.</summary>
public sealed class SessionCompressionTests
{
    private static readonly string DeflateRequest =
        SessionHarness.Request[..^2] + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    private static SessionSettings Settings(bool streamed = false, long maxMessageSize = 1 << 20) => SessionHarness.DefaultSettings with
    {
        Streamed = streamed,
        MaxMessageSize = maxMessageSize,
        Compression = SessionCompression.From(new CompressionOptions { Enabled = true, Threshold = 0 }),
    };

    private static readonly byte[] Big = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 400).Select(i => $"{{\"n\":{i},\"text\":\"hello\"}},")));

    /// <summary>Handshake, a compressed text, a compressed binary in three frames with a ping between, a plain text, a close.</summary>
    private static byte[] Conversation()
    {
        using var deflater = new Deflater(15, 8, 6); // the client keeps its context: the session must too
        byte[] first = Compress(deflater, Encoding.UTF8.GetBytes("Hello wörld, hello wörld"));
        byte[] second = Compress(deflater, Big);
        int third = second.Length / 3;
        return
        [
            .. Encoding.ASCII.GetBytes(DeflateRequest),
            .. ClientFrames.Frame(Opcode.Text, first, rsv: 4),
            .. ClientFrames.Frame(Opcode.Binary, second.AsSpan(0, third), fin: false, rsv: 4),
            .. ClientFrames.Frame(Opcode.Continuation, second.AsSpan(third, third), fin: false),
            .. ClientFrames.Frame(Opcode.Ping, "ping!"u8),
            .. ClientFrames.Frame(Opcode.Continuation, second.AsSpan(2 * third)),
            .. ClientFrames.Text("plain"),
            .. ClientFrames.Close(1000, "bye"),
        ];
    }

    private static byte[] Compress(Deflater deflater, byte[] input)
    {
        byte[] output = new byte[Deflater.MaxOutputLength(input.Length)];
        return output.AsSpan(0, deflater.Compress(input, output, resetContext: false)).ToArray();
    }

    private static IEnumerable<byte[][]> EveryWayToRead(byte[] input)
    {
        yield return [input];
        for (int cut = 1; cut < input.Length; cut++)
        {
            yield return [input[..cut], input[cut..]];
        }
        yield return input.Select(b => new[] { b }).ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Inflates_a_conversation_however_the_bytes_are_split(bool streamed)
    {
        byte[] conversation = Conversation();
        foreach (byte[][] reads in EveryWayToRead(conversation))
        {
            var harness = new SessionHarness(Settings(streamed));
            harness.FeedAll(reads);

            var messages = new List<(MessageType Type, byte[] Payload)>();
            var current = new List<byte>();
            foreach (var (type, payload, end) in harness.Host.Messages)
            {
                current.AddRange(payload);
                if (end)
                {
                    messages.Add((type, current.ToArray()));
                    current.Clear();
                }
            }
            Assert.Equal(3, messages.Count);
            Assert.Equal("Hello wörld, hello wörld", Encoding.UTF8.GetString(messages[0].Payload));
            Assert.Equal((MessageType.Binary, Big.Length), (messages[1].Type, messages[1].Payload.Length));
            Assert.Equal(Big, messages[1].Payload);
            Assert.Equal("plain", Encoding.UTF8.GetString(messages[2].Payload));
            Assert.Equal([(CloseCode.NormalClosure, "bye")], harness.Host.Closes);
            Assert.Contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n", harness.Parse().Response);
            harness.End();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_bomb_stops_at_the_limit_with_1009_having_delivered_nothing_whole(bool streamed)
    {
        using var deflater = new Deflater(15, 8, 9);
        byte[] bomb = Compress(deflater, new byte[16 << 20]);
        var harness = new SessionHarness(Settings(streamed, maxMessageSize: 100_000));
        harness.Feed(Encoding.ASCII.GetBytes(DeflateRequest));

        harness.Feed(ClientFrames.Frame(Opcode.Binary, bomb, rsv: 4));

        Assert.Equal([CloseCode.MessageTooBig], harness.Host.Closes.Select(c => c.Code));
        Assert.DoesNotContain(harness.Host.Messages, m => m.End);
        Assert.True(harness.Host.Messages.Sum(m => m.Payload.Length) <= 100_000);
        Assert.Equal(1009, harness.Frames().Last().CloseCode);
    }

    [Fact]
    public void Rsv1_is_refused_without_the_extension_and_on_continuations_with_it()
    {
        var plain = new SessionHarness(Settings());
        plain.Open(); // no offer: nothing agreed
        plain.Feed(ClientFrames.Frame(Opcode.Text, "x"u8, rsv: 4));
        Assert.Equal(1002, plain.Frames().Last().CloseCode);

        var agreed = new SessionHarness(Settings());
        agreed.Feed(Encoding.ASCII.GetBytes(DeflateRequest));
        agreed.Feed(ClientFrames.Frame(Opcode.Text, [0x02, 0x00], fin: false, rsv: 4));
        agreed.Feed(ClientFrames.Frame(Opcode.Continuation, [0x00], rsv: 4));
        Assert.Equal(1002, agreed.Frames().Last().CloseCode);

        var rsv2 = new SessionHarness(Settings());
        rsv2.Feed(Encoding.ASCII.GetBytes(DeflateRequest));
        rsv2.Feed(ClientFrames.Frame(Opcode.Text, "x"u8, rsv: 2));
        Assert.Equal(1002, rsv2.Frames().Last().CloseCode);
    }
}
