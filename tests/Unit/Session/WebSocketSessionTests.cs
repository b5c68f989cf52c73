using System.Text;
using Engine.Protocol;
using Engine.Session;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Session;

public class WebSocketSessionTests
{
    private const string SwitchingProtocols =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    private static readonly byte[] BinaryPayload = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();

    /// <summary>
    /// A whole conversation: handshake, a text and a binary message, a fragmented text message with a ping and an
    /// unsolicited pong between its fragments, then the client's close.
    /// </summary>
    private static byte[] Conversation() => Bytes.Concat(
        Encoding.ASCII.GetBytes(SessionHarness.Request),
        ClientFrames.Text("Hello"),
        ClientFrames.Frame(Opcode.Binary, BinaryPayload, maskKey: 0x01020304),
        ClientFrames.Text("Hel", fin: false),
        ClientFrames.Frame(Opcode.Ping, "ping!"u8, maskKey: 0xDEADBEEF),
        ClientFrames.Frame(Opcode.Continuation, "lo "u8, fin: false, maskKey: 0x00000000),
        ClientFrames.Frame(Opcode.Pong, "unsolicited"u8),
        ClientFrames.Frame(Opcode.Continuation, ""u8, fin: false),
        ClientFrames.Frame(Opcode.Continuation, "wörld"u8, maskKey: 0xFFFFFFFF),
        ClientFrames.Close(1000, "bye"));

    private static IEnumerable<byte[][]> EveryWayToRead(byte[] input)
    {
        yield return [input];
        yield return Bytes.OneBytePieces(input);
        foreach (byte[][] pieces in Bytes.SplitsInTwo(input))
        {
            yield return pieces;
        }
        var random = new Random(input.Length);
        for (int i = 0; i < 20; i++)
        {
            yield return Bytes.RandomPieces(input, random, 40);
        }
    }

    [Fact]
    public void Delivers_and_echoes_a_conversation_however_the_bytes_are_split()
    {
        byte[] conversation = Conversation();
        int runs = 0;
        foreach (byte[][] reads in EveryWayToRead(conversation))
        {
            var harness = new SessionHarness();
            harness.FeedAll(reads);

            Assert.Equal(1, harness.Host.Upgrades);
            Assert.Equal(1, harness.Host.Opens);
            Assert.Collection(harness.Host.Messages,
                m => Assert.Equal((MessageType.Text, "Hello", true), (m.Type, Encoding.UTF8.GetString(m.Payload), m.End)),
                m => Assert.Equal((MessageType.Binary, Convert.ToHexString(BinaryPayload), true), (m.Type, Convert.ToHexString(m.Payload), m.End)),
                m => Assert.Equal((MessageType.Text, "Hello wörld", true), (m.Type, Encoding.UTF8.GetString(m.Payload), m.End)));

            (string response, List<ServerFrame> frames) = harness.Parse();
            Assert.Equal(SwitchingProtocols, response);
            Assert.Collection(frames,
                f => Assert.Equal((Opcode.Text, "Hello"), (f.Opcode, f.Text)),
                f => Assert.Equal((Opcode.Binary, Convert.ToHexString(BinaryPayload)), (f.Opcode, Convert.ToHexString(f.Payload))),
                f => Assert.Equal((Opcode.Pong, "ping!"), (f.Opcode, f.Text)), // answered before the message it interrupted ends
                f => Assert.Equal((Opcode.Text, "Hello wörld"), (f.Opcode, f.Text)),
                f => Assert.Equal((Opcode.Close, 1000, 2), (f.Opcode, f.CloseCode, f.Payload.Length)));
            Assert.All(frames, f => Assert.True(f.Fin));
            Assert.All(frames, f => Assert.Equal(0, f.Rsv));

            Assert.Equal([(CloseCode.NormalClosure, "bye")], harness.Host.Closes);
            Assert.Equal(SessionState.Closed, harness.State);
            Assert.Empty(harness.Host.Timeouts);
            Assert.Equal(0, harness.Pool.Outstanding); // every send block went back once sent
            runs++;
        }
        Assert.True(runs > conversation.Length);
    }

    [Fact]
    public void Streamed_delivery_hands_on_pieces_that_add_up_to_each_message()
    {
        SessionSettings settings = SessionHarness.DefaultSettings with { Streamed = true };
        foreach (byte[][] reads in EveryWayToRead(Conversation()))
        {
            var harness = new SessionHarness(settings);
            harness.Host.Echo = false;
            harness.FeedAll(reads);

            var messages = new List<(MessageType Type, byte[] Payload)>();
            var current = new List<byte>();
            MessageType? type = null;
            foreach ((MessageType t, byte[] payload, bool end) in harness.Host.Messages)
            {
                Assert.True(type is null || type == t);
                type = t;
                current.AddRange(payload);
                if (end)
                {
                    messages.Add((t, [.. current]));
                    current.Clear();
                    type = null;
                }
            }
            Assert.Empty(current);
            Assert.Collection(messages,
                m => Assert.Equal((MessageType.Text, "Hello"), (m.Type, Encoding.UTF8.GetString(m.Payload))),
                m => Assert.Equal((MessageType.Binary, Convert.ToHexString(BinaryPayload)), (m.Type, Convert.ToHexString(m.Payload))),
                m => Assert.Equal((MessageType.Text, "Hello wörld"), (m.Type, Encoding.UTF8.GetString(m.Payload))));
            Assert.Equal(SessionState.Closed, harness.State);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    public void Answers_a_ping_with_a_pong_carrying_the_same_payload(int length)
    {
        byte[] payload = Enumerable.Range(0, length).Select(i => (byte)(i + 1)).ToArray();
        byte[] ping = ClientFrames.Frame(Opcode.Ping, payload);
        foreach (byte[][] reads in Bytes.SplitsInTwo(ping))
        {
            SessionHarness harness = new SessionHarness().Open();
            harness.FeedAll(reads);
            ServerFrame pong = Assert.Single(harness.Frames());
            Assert.Equal(Opcode.Pong, pong.Opcode);
            Assert.Equal(payload, pong.Payload);
            Assert.Equal(SessionState.Open, harness.State);
        }
    }

    private static readonly SessionSettings SmallMessages = SessionHarness.DefaultSettings with { MaxMessageSize = 1000 };

    private static readonly Dictionary<string, (Func<byte[]> Frames, CloseCode Code)> Violations = new()
    {
        ["RSV1 without an extension"] = (() => ClientFrames.Frame(Opcode.Text, "hi"u8, rsv: 4), CloseCode.ProtocolError),
        ["RSV3"] = (() => ClientFrames.Frame(Opcode.Binary, "hi"u8, rsv: 1), CloseCode.ProtocolError),
        ["RSV2 on a ping"] = (() => ClientFrames.Frame(Opcode.Ping, "hi"u8, rsv: 2), CloseCode.ProtocolError),
        ["opcode 3"] = (() => ClientFrames.Frame((Opcode)3, ""u8), CloseCode.ProtocolError),
        ["opcode 0xB"] = (() => ClientFrames.Frame((Opcode)0xB, "x"u8), CloseCode.ProtocolError),
        ["unmasked text"] = (() => ClientFrames.Frame(Opcode.Text, "hi"u8, masked: false), CloseCode.ProtocolError),
        ["unmasked ping"] = (() => ClientFrames.Frame(Opcode.Ping, ""u8, masked: false), CloseCode.ProtocolError),
        ["ping of 126 bytes"] = (() => ClientFrames.Frame(Opcode.Ping, new byte[126]), CloseCode.ProtocolError),
        ["fragmented ping"] = (() => ClientFrames.Frame(Opcode.Ping, "x"u8, fin: false), CloseCode.ProtocolError),
        ["continuation without a message"] = (() => ClientFrames.Frame(Opcode.Continuation, "x"u8), CloseCode.ProtocolError),
        ["new message inside a fragmented one"] = (() => Bytes.Concat(ClientFrames.Text("a", fin: false), ClientFrames.Text("b")), CloseCode.ProtocolError),
        ["64-bit length with the top bit"] = (() => Bytes.Hex("82 FF 80 00 00 00 00 00 00 05 01 02 03 04"), CloseCode.ProtocolError),
        ["close with a 1-byte body"] = (() => ClientFrames.Frame(Opcode.Close, [0x03]), CloseCode.ProtocolError),
        ["close code 999"] = (() => ClientFrames.Close(999), CloseCode.ProtocolError),
        ["close code 1004"] = (() => ClientFrames.Close(1004), CloseCode.ProtocolError),
        ["close code 1005"] = (() => ClientFrames.Close(1005), CloseCode.ProtocolError),
        ["close code 1006"] = (() => ClientFrames.Close(1006), CloseCode.ProtocolError),
        ["close code 1015"] = (() => ClientFrames.Close(1015), CloseCode.ProtocolError),
        ["close code 2999"] = (() => ClientFrames.Close(2999), CloseCode.ProtocolError),
        ["close code 5000"] = (() => ClientFrames.Close(5000), CloseCode.ProtocolError),
        ["invalid UTF-8 in a text frame"] = (() => ClientFrames.Frame(Opcode.Text, Bytes.Hex("CE BA ED A0 80")), CloseCode.InvalidPayloadData),
        ["text ending inside a sequence"] = (() => ClientFrames.Frame(Opcode.Text, Bytes.Hex("41 E2 82")), CloseCode.InvalidPayloadData),
        ["fragmented text ending inside a sequence"] = (() => Bytes.Concat(
            ClientFrames.Frame(Opcode.Text, Bytes.Hex("E2"), fin: false), ClientFrames.Frame(Opcode.Continuation, Bytes.Hex("82"))), CloseCode.InvalidPayloadData),
        // Fail fast: the final fragment never arrives, the second one already makes the message invalid.
        ["invalid UTF-8 in a middle fragment"] = (() => Bytes.Concat(
            ClientFrames.Text("κόσμε", fin: false), ClientFrames.Frame(Opcode.Continuation, Bytes.Hex("ED A0 80"), fin: false)), CloseCode.InvalidPayloadData),
        ["invalid UTF-8 in a close reason"] = (() => ClientFrames.Frame(Opcode.Close, Bytes.Hex("03 E8 ED A0 80")), CloseCode.InvalidPayloadData),
        ["message over the limit"] = (() => ClientFrames.Frame(Opcode.Binary, new byte[1001]), CloseCode.MessageTooBig),
        ["fragments over the limit"] = (() => Bytes.Concat(
            ClientFrames.Frame(Opcode.Text, new byte[600], fin: false), ClientFrames.Frame(Opcode.Continuation, new byte[401])), CloseCode.MessageTooBig),
    };

    public static TheoryData<string> ViolationNames => [.. Violations.Keys];

    [Theory]
    [MemberData(nameof(ViolationNames))]
    public void Each_violation_sends_its_close_code_and_closes(string name)
    {
        (Func<byte[]> build, CloseCode expected) = Violations[name];
        byte[] frames = build();
        foreach (byte[][] reads in Bytes.SplitsInTwo(frames).Prepend([frames]))
        {
            SessionHarness harness = new SessionHarness(SmallMessages).Open();
            harness.FeedAll(reads);
            harness.Feed(ClientFrames.Text("after the failure")); // ignored

            Assert.Equal(SessionState.Closed, harness.State);
            Assert.Empty(harness.Host.Messages);
            ServerFrame close = Assert.Single(harness.Frames());
            Assert.Equal(Opcode.Close, close.Opcode);
            Assert.Equal((int)expected, close.CloseCode);
            Assert.InRange(close.Payload.Length, 2, FrameRules.MaxControlPayload);
            Assert.True(System.Text.Unicode.Utf8.IsValid(close.Payload.AsSpan(2)));
            (CloseCode code, _) = Assert.Single(harness.Host.Closes);
            Assert.Equal(expected, code);
        }
    }

    [Fact]
    public void A_message_exactly_at_the_limit_is_delivered()
    {
        SessionHarness harness = new SessionHarness(SmallMessages).Open();
        harness.Feed(Bytes.Concat(ClientFrames.Frame(Opcode.Binary, new byte[600], fin: false), ClientFrames.Frame(Opcode.Continuation, new byte[400])));
        harness.Feed(ClientFrames.Frame(Opcode.Text, new byte[1000]));
        Assert.Equal([1000, 1000], harness.Host.Messages.Select(m => m.Payload.Length));
        Assert.Equal(SessionState.Open, harness.State);
    }

    [Theory]
    [InlineData(1000, "")]
    [InlineData(1001, "going")]
    [InlineData(3000, "x")]
    [InlineData(4999, "κόσμε")]
    public void Echoes_the_close_code_of_the_client(int code, string reason)
    {
        SessionHarness harness = new SessionHarness().Open();
        harness.Feed(Bytes.Concat(ClientFrames.Close((ushort)code, reason), ClientFrames.Text("after close")));
        ServerFrame close = Assert.Single(harness.Frames());
        Assert.Equal((Opcode.Close, code), (close.Opcode, close.CloseCode));
        Assert.Equal([((CloseCode)code, reason)], harness.Host.Closes);
        Assert.Empty(harness.Host.Messages);
        Assert.Equal(SessionState.Closed, harness.State);
        Assert.False(harness.Session.Close(CloseCode.NormalClosure, "again", harness.Now));
    }

    [Fact]
    public void An_empty_close_is_answered_with_an_empty_close_and_reported_as_1005()
    {
        SessionHarness harness = new SessionHarness().Open();
        harness.Feed(ClientFrames.Frame(Opcode.Close, []));
        ServerFrame close = Assert.Single(harness.Frames());
        Assert.Equal(Opcode.Close, close.Opcode);
        Assert.Empty(close.Payload); // 1005 is never sent on the wire
        Assert.Equal([(CloseCode.NoStatusReceived, "")], harness.Host.Closes);
    }

    [Fact]
    public void A_server_close_waits_for_the_reply_and_delivers_nothing_meanwhile()
    {
        SessionHarness harness = new SessionHarness().Open();
        harness.AdvanceTo(1_000);
        Assert.True(harness.Session.Close(CloseCode.GoingAway, "going", harness.Now));
        Assert.Equal(SessionState.CloseSent, harness.State);
        Assert.True(harness.Host.Flushes > 0);
        Assert.False(harness.Session.Close(CloseCode.NormalClosure, "twice", harness.Now));

        harness.Feed(Bytes.Concat(ClientFrames.Text("late"), ClientFrames.Frame(Opcode.Ping, "p"u8)));
        Assert.Empty(harness.Host.Messages);
        Assert.Equal(SessionState.CloseSent, harness.State);

        harness.Feed(ClientFrames.Close(1001));
        Assert.Equal(SessionState.Closed, harness.State);
        ServerFrame close = Assert.Single(harness.Frames()); // no pong after our close, no second close
        Assert.Equal((Opcode.Close, 1001, "going"), (close.Opcode, close.CloseCode, Encoding.UTF8.GetString(close.Payload, 2, close.Payload.Length - 2)));
        Assert.Equal([(CloseCode.GoingAway, "")], harness.Host.Closes);
        Assert.Empty(harness.Host.Timeouts);
    }

    [Fact]
    public void A_server_close_without_a_reply_times_out()
    {
        SessionHarness harness = new SessionHarness().Open();
        harness.AdvanceTo(1_000);
        harness.Session.Close(CloseCode.NormalClosure, "", harness.Now);
        harness.AdvanceTo(2_990);
        Assert.Empty(harness.Host.Timeouts);
        harness.AdvanceTo(3_100);
        Assert.Equal(["close timeout"], harness.Host.Timeouts);
    }

    [Fact]
    public void The_close_timeout_waits_while_the_frames_queued_ahead_of_the_close_are_still_draining()
    {
        SessionHarness harness = new SessionHarness().Open();
        harness.AdvanceTo(1_000);
        // A slow reader: 100 KB of replies are queued ahead of our close frame.
        harness.Session.Send(new byte[100_000], MessageType.Binary, long.MaxValue);
        harness.Session.Close(CloseCode.GoingAway, "", harness.Now);
        Assert.True(harness.Output.TryBeginSend());
        harness.AdvanceTo(2_500);
        harness.Output.OnSent(40_000); // the peer reads, slowly
        harness.AdvanceTo(3_100);
        Assert.Empty(harness.Host.Timeouts); // progress in the last close timeout: keep waiting
        harness.AdvanceTo(4_900);
        Assert.Empty(harness.Host.Timeouts);
        harness.AdvanceTo(5_300); // no progress for a whole close timeout since 3,000: the peer is stuck
        Assert.Equal(["close timeout"], harness.Host.Timeouts);
    }

    private static readonly SessionSettings Heartbeat = SessionHarness.DefaultSettings with { HeartbeatIntervalMs = 1_000, HeartbeatTimeoutMs = 500 };

    [Fact]
    public void Heartbeat_pings_after_the_interval_and_times_out_without_a_pong()
    {
        SessionHarness harness = new SessionHarness(Heartbeat).Open();
        harness.AdvanceTo(990);
        Assert.Empty(harness.Frames());
        harness.AdvanceTo(1_000);
        ServerFrame ping = Assert.Single(harness.Frames());
        Assert.Equal(Opcode.Ping, ping.Opcode);
        Assert.True(harness.Host.Flushes > 0);
        harness.AdvanceTo(1_490);
        Assert.Empty(harness.Host.Timeouts);
        harness.AdvanceTo(1_600);
        Assert.Equal(["heartbeat timeout"], harness.Host.Timeouts);
    }

    [Fact]
    public void Heartbeat_is_satisfied_by_a_pong_and_pings_again()
    {
        SessionHarness harness = new SessionHarness(Heartbeat).Open();
        harness.AdvanceTo(1_000);
        ServerFrame ping = Assert.Single(harness.Frames());
        harness.AdvanceTo(1_200);
        harness.Feed(ClientFrames.Frame(Opcode.Pong, ping.Payload));
        harness.AdvanceTo(1_990);
        Assert.Empty(harness.Host.Timeouts);
        Assert.Single(harness.Frames());
        harness.AdvanceTo(2_000);
        Assert.Equal([Opcode.Ping, Opcode.Ping], harness.Frames().Select(f => f.Opcode));
        harness.AdvanceTo(2_490);
        Assert.Empty(harness.Host.Timeouts);
        harness.AdvanceTo(2_600);
        Assert.Equal(["heartbeat timeout"], harness.Host.Timeouts);
    }

    [Fact]
    public void Heartbeat_is_answered_by_a_pong_only_not_by_other_frames()
    {
        SessionHarness harness = new SessionHarness(Heartbeat).Open();
        harness.AdvanceTo(1_000);
        harness.Feed(ClientFrames.Text("busy, but not listening"));
        harness.AdvanceTo(1_490);
        Assert.Empty(harness.Host.Timeouts);
        harness.AdvanceTo(1_600);
        Assert.Equal(["heartbeat timeout"], harness.Host.Timeouts);
    }

    [Fact]
    public void Heartbeat_with_a_timeout_longer_than_the_interval_keeps_one_ping_out_and_times_out_from_it()
    {
        var settings = Heartbeat with { HeartbeatTimeoutMs = 2_500 };
        SessionHarness silent = new SessionHarness(settings).Open();
        silent.AdvanceTo(3_490); // pings would be due at 2,000 and 3,000: they wait for the first one's pong
        Assert.Equal(Opcode.Ping, Assert.Single(silent.Frames()).Opcode);
        Assert.Empty(silent.Host.Timeouts);
        silent.AdvanceTo(3_600);
        Assert.Equal(["heartbeat timeout"], silent.Host.Timeouts);

        SessionHarness answering = new SessionHarness(settings).Open();
        answering.AdvanceTo(1_000);
        answering.Feed(ClientFrames.Frame(Opcode.Pong, Assert.Single(answering.Frames()).Payload));
        answering.AdvanceTo(2_000);
        Assert.Equal([Opcode.Ping, Opcode.Ping], answering.Frames().Select(f => f.Opcode));
        answering.AdvanceTo(4_400); // the second ping's pong is due at 4,500
        Assert.Empty(answering.Host.Timeouts);
        answering.AdvanceTo(4_600);
        Assert.Equal(["heartbeat timeout"], answering.Host.Timeouts);
    }

    [Fact]
    public void A_close_replaces_the_next_ping_with_the_close_deadline()
    {
        // The ping time and the close deadline share a field: once closing, no ping goes out and the close timeout
        // (2 s here) runs from the close, not from the ping time.
        SessionHarness harness = new SessionHarness(Heartbeat).Open();
        harness.AdvanceTo(950);
        Assert.True(harness.Session.Close(CloseCode.NormalClosure, "bye", harness.Now));
        harness.AdvanceTo(2_900);
        Assert.Equal(Opcode.Close, Assert.Single(harness.Frames()).Opcode);
        Assert.Empty(harness.Host.Timeouts);
        harness.AdvanceTo(3_100);
        Assert.Equal(["close timeout"], harness.Host.Timeouts);
    }

    /// <summary>
    /// A session keeps its deadlines as the clock's low 32 bits (memory per idle connection); these starting readings
    /// put the deadlines across each place where those bits wrap or hit the "no deadline" value.
    /// </summary>
    [Theory]
    [InlineData(0L)]
    [InlineData(2_147_482_000L)] // every deadline lies past int.MaxValue: the stamps turn negative
    [InlineData(4_294_966_296L)] // the first ping is due at exactly 2^32, whose low 32 bits are 0 ("none")
    [InlineData(5L << 32)] // the opening reading's low bits are 0
    [InlineData(1_000_000_000_000L)] // 31 years of uptime: readings far past 32 bits
    public void Deadlines_hold_where_the_clock_passes_a_32_bit_boundary(long start)
    {
        // Bounds are a tick (100 ms) and a harness step (10 ms) past each deadline: the wheel rounds deadlines up to a
        // tick, and start is not always a whole tick.
        SessionHarness heartbeat = new SessionHarness(Heartbeat, start).Open();
        heartbeat.AdvanceTo(start + 990);
        Assert.Empty(heartbeat.Frames());
        heartbeat.AdvanceTo(start + 1_110);
        Assert.Equal(Opcode.Ping, Assert.Single(heartbeat.Frames()).Opcode);
        heartbeat.AdvanceTo(start + 1_490);
        Assert.Empty(heartbeat.Host.Timeouts);
        heartbeat.AdvanceTo(start + 1_720);
        Assert.Equal(["heartbeat timeout"], heartbeat.Host.Timeouts);

        var handshake = new SessionHarness(startMs: start);
        handshake.AdvanceTo(start + 4_990);
        Assert.Empty(handshake.Host.Timeouts);
        handshake.AdvanceTo(start + 5_110);
        Assert.Equal(["handshake timeout"], handshake.Host.Timeouts);

        SessionHarness idle = new SessionHarness(SessionHarness.DefaultSettings with { IdleTimeoutMs = 3_000 }, start).Open();
        idle.AdvanceTo(start + 2_000);
        idle.Feed(ClientFrames.Text("still here"));
        idle.AdvanceTo(start + 4_990);
        Assert.Equal(SessionState.Open, idle.State);
        idle.AdvanceTo(start + 5_110);
        Assert.Equal(SessionState.CloseSent, idle.State);
        idle.AdvanceTo(start + 6_990);
        Assert.Empty(idle.Host.Timeouts);
        idle.AdvanceTo(start + 7_220);
        Assert.Equal(["close timeout"], idle.Host.Timeouts);
    }

    [Fact]
    public void An_unfinished_handshake_times_out()
    {
        var harness = new SessionHarness(startMs: 10_000);
        harness.AdvanceTo(10_100);
        harness.Feed(Encoding.ASCII.GetBytes(SessionHarness.Request)[..40]);
        harness.AdvanceTo(14_990);
        Assert.Empty(harness.Host.Timeouts);
        Assert.Equal(SessionState.Handshake, harness.State);
        harness.AdvanceTo(15_100);
        Assert.Equal(["handshake timeout"], harness.Host.Timeouts);
    }

    [Fact]
    public void A_finished_handshake_cancels_its_timeout()
    {
        SessionHarness harness = new SessionHarness().Open();
        harness.AdvanceTo(60_000);
        Assert.Empty(harness.Host.Timeouts);
        Assert.Equal(SessionState.Open, harness.State);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 426 Upgrade Required\r\n")]
    [InlineData("POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", "HTTP/1.1 426 Upgrade Required\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost : h\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n")]
    public void Answers_bad_or_plain_requests_and_closes(string request, string statusLine)
    {
        byte[] input = Encoding.ASCII.GetBytes(request);
        foreach (byte[][] reads in Bytes.SplitsInTwo(input))
        {
            var harness = new SessionHarness();
            harness.FeedAll(reads);
            string sent = Encoding.ASCII.GetString(harness.Sent());
            Assert.StartsWith(statusLine, sent, StringComparison.Ordinal);
            Assert.Equal(SessionState.Closed, harness.State);
            Assert.Equal(0, harness.Host.Opens);
            Assert.True(harness.Output.IsCompleted);
        }
    }

    [Fact]
    public void Version_426_names_the_supported_version()
    {
        var harness = new SessionHarness();
        harness.Feed(Encoding.ASCII.GetBytes(SessionHarness.Request.Replace("Version: 13", "Version: 8", StringComparison.Ordinal)));
        Assert.Contains("\r\nSec-WebSocket-Version: 13\r\n", Encoding.ASCII.GetString(harness.Sent()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_head_over_the_limit_gets_431()
    {
        var harness = new SessionHarness(SessionHarness.DefaultSettings with { MaxRequestHeadSize = 256 });
        harness.Feed(Encoding.ASCII.GetBytes(SessionHarness.Request.Replace("Origin: http://example.com", "Origin: http://" + new string('e', 200), StringComparison.Ordinal)));
        Assert.StartsWith("HTTP/1.1 431 ", Encoding.ASCII.GetString(harness.Sent()), StringComparison.Ordinal);
        Assert.Equal(SessionState.Closed, harness.State);
    }

    [Fact]
    public void The_host_may_reject_the_upgrade_or_answer_plain_http()
    {
        var rejected = new SessionHarness();
        rejected.Host.Decision = UpgradeDecision.Reject(403);
        rejected.Feed(Encoding.ASCII.GetBytes(SessionHarness.Request));
        Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", Encoding.ASCII.GetString(rejected.Sent()), StringComparison.Ordinal);
        Assert.Equal(0, rejected.Host.Opens);

        var plain = new SessionHarness();
        plain.Host.PlainResponse = new HttpResponse(200, "text/plain", "ok"u8.ToArray());
        plain.Feed("GET /health HTTP/1.1\r\nHost: h\r\n\r\n"u8);
        string sent = Encoding.ASCII.GetString(plain.Sent());
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", sent, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nok", sent, StringComparison.Ordinal);
        Assert.Equal(1, plain.Host.HttpRequests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Large_and_empty_messages_round_trip_in_whole_and_streamed_delivery(bool streamed)
    {
        // 20 000 bytes (a 16-bit length) echoed across a chain of 4 KiB send blocks; empty messages and empty fragments.
        byte[] large = Enumerable.Range(0, 20_000).Select(i => (byte)(i * 31 + 7)).ToArray();
        byte[] input = Bytes.Concat(
            ClientFrames.Frame(Opcode.Text, []),
            ClientFrames.Frame(Opcode.Binary, []),
            ClientFrames.Frame(Opcode.Binary, large.AsSpan(0, 7000), fin: false, maskKey: 0x11223344),
            ClientFrames.Frame(Opcode.Continuation, large.AsSpan(7000), maskKey: 0x55667788),
            ClientFrames.Frame(Opcode.Text, [], fin: false),
            ClientFrames.Frame(Opcode.Continuation, []));
        var random = new Random(7);
        var ways = new List<byte[][]> { new[] { input }, Bytes.RandomPieces(input, random, 3000), Bytes.RandomPieces(input, random, 100) };
        foreach (int k in new[] { 1, 2, 5, 6, 13, 7000, 7013, input.Length - 7 })
        {
            ways.Add([input[..k], input[k..]]);
        }
        foreach (byte[][] reads in ways)
        {
            SessionHarness harness = new SessionHarness(SessionHarness.DefaultSettings with { Streamed = streamed }).Open();
            harness.Host.Echo = !streamed;
            harness.FeedAll(reads);
            var messages = new List<(MessageType Type, byte[] Payload)>();
            var current = new List<byte>();
            foreach ((MessageType type, byte[] payload, bool end) in harness.Host.Messages)
            {
                current.AddRange(payload);
                if (end)
                {
                    messages.Add((type, [.. current]));
                    current.Clear();
                }
            }
            Assert.Equal([MessageType.Text, MessageType.Binary, MessageType.Binary, MessageType.Text], messages.Select(m => m.Type));
            Assert.Equal([0, 0, large.Length, 0], messages.Select(m => m.Payload.Length));
            Assert.True(large.AsSpan().SequenceEqual(messages[2].Payload));
            if (!streamed)
            {
                List<ServerFrame> frames = harness.Frames();
                Assert.Equal([Opcode.Text, Opcode.Binary, Opcode.Binary, Opcode.Text], frames.Select(f => f.Opcode));
                Assert.True(large.AsSpan().SequenceEqual(frames[2].Payload));
            }
            Assert.Equal(SessionState.Open, harness.State);
            harness.Sent();
            Assert.Equal(0, harness.Pool.Outstanding);
        }
    }

    [Fact]
    public void A_close_between_fragments_ends_the_connection_without_delivering_the_partial_message()
    {
        byte[] input = Bytes.Concat(ClientFrames.Text("part", fin: false), ClientFrames.Close(1000), ClientFrames.Frame(Opcode.Continuation, "rest"u8));
        foreach (byte[][] reads in Bytes.SplitsInTwo(input))
        {
            SessionHarness harness = new SessionHarness().Open();
            harness.FeedAll(reads);
            Assert.Empty(harness.Host.Messages);
            ServerFrame close = Assert.Single(harness.Frames());
            Assert.Equal((Opcode.Close, 1000), (close.Opcode, close.CloseCode));
            Assert.Equal(SessionState.Closed, harness.State);
        }
    }

    [Fact]
    public void An_idle_connection_is_closed_with_1001_and_traffic_postpones_it()
    {
        SessionHarness harness = new SessionHarness(SessionHarness.DefaultSettings with { IdleTimeoutMs = 3_000 }).Open();
        harness.AdvanceTo(2_000);
        harness.Feed(ClientFrames.Text("still here"));
        harness.AdvanceTo(4_990);
        Assert.Equal(SessionState.Open, harness.State);
        harness.AdvanceTo(5_100);
        Assert.Equal(SessionState.CloseSent, harness.State);
        ServerFrame close = harness.Frames()[^1];
        Assert.Equal((Opcode.Close, 1001), (close.Opcode, close.CloseCode));
        Assert.Empty(harness.Host.Timeouts);
        harness.AdvanceTo(7_200); // no answer to our close: the close timeout ends it
        Assert.Equal(["close timeout"], harness.Host.Timeouts);
    }

    [Fact]
    public void A_session_ended_mid_message_refuses_what_comes_after_and_leaves_nothing_behind()
    {
        SessionHarness harness = new SessionHarness(Heartbeat).Open();
        // Inside a fragmented text message with a split UTF-8 sequence and a partial frame, with a ping due.
        harness.Feed(Bytes.Concat(
            ClientFrames.Frame(Opcode.Text, Bytes.Hex("41 E2 82"), fin: false),
            ClientFrames.Frame(Opcode.Continuation, new byte[100], fin: false)[..20]));
        harness.Session.Send("queued before the end"u8, MessageType.Text, long.MaxValue);
        harness.End();
        Assert.Equal(1, harness.Host.Ends);
        Assert.Equal(0, harness.Pool.Outstanding); // the queued frame's block went back with the queue
        // Another thread that still holds the connection gets "closed", never a frame on a reused session.
        Assert.False(harness.Session.Close(CloseCode.NormalClosure, "late", harness.Now));
        Assert.Equal(EnqueueResult.Completed, harness.Session.Send("late"u8, MessageType.Text, long.MaxValue));
        ((ITransportHandler)harness.Session).OnTransportClosed(null);
        Assert.Equal(1, harness.Host.Ends); // once
        harness.AdvanceTo(60_000); // its timers are gone with it
        Assert.Empty(harness.Host.Timeouts);
        Assert.Empty(harness.Host.Messages);
    }

    [Fact]
    public void The_chosen_subprotocol_is_answered_and_must_have_been_offered()
    {
        string request = SessionHarness.Request.Replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: superchat, chat\r\n\r\n", StringComparison.Ordinal);
        var accepted = new SessionHarness();
        accepted.Host.Decision = UpgradeDecision.Accept("chat");
        accepted.Feed(Encoding.ASCII.GetBytes(request));
        Assert.Contains("\r\nSec-WebSocket-Protocol: chat\r\n", accepted.Parse().Response, StringComparison.Ordinal);

        var misuse = new SessionHarness();
        misuse.Host.Decision = UpgradeDecision.Accept("Chat"); // subprotocol names are case-sensitive
        misuse.Feed(Encoding.ASCII.GetBytes(request));
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", Encoding.ASCII.GetString(misuse.Sent()), StringComparison.Ordinal);
        Assert.Equal(SessionState.Closed, misuse.Session.State);
    }

    [Fact]
    public void A_head_request_gets_the_headers_without_the_body()
    {
        var harness = new SessionHarness();
        harness.Host.PlainResponse = new HttpResponse(200, "text/plain", "ok"u8.ToArray());
        harness.Feed("HEAD /health HTTP/1.1\r\nHost: h\r\n\r\n"u8);
        string sent = Encoding.ASCII.GetString(harness.Sent());
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", sent, StringComparison.Ordinal);
        Assert.Contains("\r\nContent-Length: 2\r\n", sent, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", sent, StringComparison.Ordinal);
    }
}
