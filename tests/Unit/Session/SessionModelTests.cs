using System.Text;
using Engine.Protocol;
using Engine.Session;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Session;

/// <summary>
/// Random conversations against a model: fragmented text and binary messages with pings and pongs between the
/// fragments, random mask keys, fed in random pieces. The output must be exactly what the model predicts.
/// </summary>
public class SessionModelTests
{
    private static readonly string[] Words = ["a", "hello", "κόσμε", "😀", "€", "ü", " ", "websocket", "\u0000", "\uFFFD"];

    private sealed record Conversation(byte[] Input, List<(MessageType Type, byte[] Payload)> Messages, List<(Opcode Opcode, byte[] Payload)> Output, CloseCode? Failure);

    private static Conversation Generate(Random random, bool withViolation)
    {
        var input = new List<byte>(Encoding.ASCII.GetBytes(SessionHarness.Request));
        var messages = new List<(MessageType, byte[])>();
        var output = new List<(Opcode, byte[])>();
        int count = random.Next(1, 6);
        int violationAt = withViolation ? random.Next(count) : -1;
        CloseCode? failure = null;

        void Add(byte[] frame) => input.AddRange(frame);
        uint Key() => (uint)random.Next() ^ ((uint)random.Next(4) << 30);

        for (int m = 0; m < count && failure is null; m++)
        {
            bool text = random.Next(2) == 0;
            byte[] payload;
            if (text)
            {
                var builder = new StringBuilder();
                int words = random.Next(0, 30);
                for (int w = 0; w < words; w++)
                {
                    builder.Append(Words[random.Next(Words.Length)]);
                }
                payload = Encoding.UTF8.GetBytes(builder.ToString());
            }
            else
            {
                payload = new byte[random.Next(0, random.Next(10) == 0 ? 70_000 : 300)];
                random.NextBytes(payload);
            }

            // Cut into 1-4 fragments at random byte positions (text fragments may split a character: that is allowed).
            int fragments = random.Next(1, 5);
            var cuts = Enumerable.Range(0, fragments - 1).Select(_ => random.Next(payload.Length + 1)).Order().ToList();
            cuts.Insert(0, 0);
            cuts.Add(payload.Length);
            for (int f = 0; f < fragments; f++)
            {
                Opcode opCode = f == 0 ? (text ? Opcode.Text : Opcode.Binary) : Opcode.Continuation;
                bool fin = f == fragments - 1;
                Add(ClientFrames.Frame(opCode, payload.AsSpan(cuts[f], cuts[f + 1] - cuts[f]), fin, maskKey: Key()));
                if (fin)
                {
                    messages.Add((text ? MessageType.Text : MessageType.Binary, payload));
                    output.Add((text ? Opcode.Text : Opcode.Binary, payload));
                }
                else if (m == violationAt && f == fragments - 2)
                {
                    // A data frame where a continuation must come: 1002, and the message is never delivered.
                    Add(ClientFrames.Frame(Opcode.Binary, "x"u8, maskKey: Key()));
                    failure = CloseCode.ProtocolError;
                    break;
                }
                if (random.Next(3) == 0)
                {
                    byte[] ping = new byte[random.Next(0, 126)];
                    random.NextBytes(ping);
                    Add(ClientFrames.Frame(Opcode.Ping, ping, maskKey: Key()));
                    output.Add((Opcode.Pong, ping));
                }
                if (random.Next(5) == 0)
                {
                    Add(ClientFrames.Frame(Opcode.Pong, "unsolicited"u8, maskKey: Key()));
                }
            }
            if (failure is not null)
            {
                break;
            }
            if (m == violationAt)
            {
                // A single-frame message with invalid UTF-8 or a reserved bit.
                if (random.Next(2) == 0)
                {
                    Add(ClientFrames.Frame(Opcode.Text, Bytes.Hex("41 ED A0 80"), maskKey: Key()));
                    failure = CloseCode.InvalidPayloadData;
                }
                else
                {
                    Add(ClientFrames.Frame(Opcode.Binary, "x"u8, rsv: 4, maskKey: Key()));
                    failure = CloseCode.ProtocolError;
                }
            }
        }
        if (failure is null)
        {
            Add(ClientFrames.Close(1000));
            output.Add((Opcode.Close, [0x03, 0xE8]));
        }
        else
        {
            output.Add((Opcode.Close, [(byte)((int)failure >> 8), (byte)(int)failure]));
        }
        return new Conversation([.. input], messages, output, failure);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Random_conversations_match_the_model(bool streamed, bool withViolation)
    {
        var random = new Random((streamed ? 11 : 22) + (withViolation ? 1 : 0));
        for (int round = 0; round < 150; round++)
        {
            Conversation conversation = Generate(random, withViolation);
            byte[][] reads = (round % 5) switch
            {
                0 => [conversation.Input],
                1 => Bytes.RandomPieces(conversation.Input, random, 3),
                _ => Bytes.RandomPieces(conversation.Input, random, 1 + random.Next(2000)),
            };
            SessionHarness harness = new SessionHarness(SessionHarness.DefaultSettings with { Streamed = streamed });
            harness.Host.Echo = !streamed;
            harness.FeedAll(reads);
            string context = $"round {round}";

            // Delivered messages (pieces joined in streamed mode).
            var delivered = new List<(MessageType Type, byte[] Payload)>();
            var current = new List<byte>();
            foreach ((MessageType type, byte[] payload, bool end) in harness.Host.Messages)
            {
                current.AddRange(payload);
                if (end)
                {
                    delivered.Add((type, [.. current]));
                    current.Clear();
                }
            }
            Assert.True(conversation.Messages.Count == delivered.Count, $"{context}: {delivered.Count} messages, expected {conversation.Messages.Count}");
            for (int i = 0; i < delivered.Count; i++)
            {
                Assert.Equal(conversation.Messages[i].Type, delivered[i].Type);
                Assert.True(conversation.Messages[i].Payload.AsSpan().SequenceEqual(delivered[i].Payload), $"{context}: message {i} differs");
            }

            // The output frames, in order: pongs, echoes (whole mode only) and the close.
            List<ServerFrame> frames = harness.Frames();
            var expected = conversation.Output.Where(o => !streamed || o.Opcode is Opcode.Pong or Opcode.Close).ToList();
            Assert.True(expected.Count == frames.Count,
                $"{context}: output {string.Join(",", frames.Select(f => f.Opcode))}, expected {string.Join(",", expected.Select(e => e.Opcode))}");
            for (int i = 0; i < frames.Count; i++)
            {
                Assert.Equal(expected[i].Opcode, frames[i].Opcode);
                byte[] payload = frames[i].Opcode == Opcode.Close ? frames[i].Payload[..2] : frames[i].Payload;
                Assert.True(expected[i].Payload.AsSpan().SequenceEqual(payload), $"{context}: output frame {i} ({frames[i].Opcode}) differs");
            }

            Assert.Equal(SessionState.Closed, harness.State);
            (CloseCode code, _) = Assert.Single(harness.Host.Closes);
            Assert.Equal(conversation.Failure ?? CloseCode.NormalClosure, code);
            Assert.Equal(0, harness.Pool.Outstanding);
        }
    }
}
