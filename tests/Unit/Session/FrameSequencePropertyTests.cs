using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using CsCheck;
using Engine.Protocol;
using Engine.Session;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Session;

/// <summary>
/// Property-based differential tests (CsCheck): random client frame sequences, serialized by the test's own writer and
/// cut into random reads, go through the real session; what the application receives and what the server answers
/// (pongs, the close frame and its code) must equal what <see cref="ReferenceDecoder"/>, a plain RFC 6455 decoder
/// written here without any engine code, makes of the same bytes. Valid sequences must also decode to the messages
/// they were generated from; a sequence with one corrupted byte must decode like the reference (the same messages
/// before the damage, then the same close code) and never throw.
/// </summary>
public class FrameSequencePropertyTests
{
    /// <summary>One client frame before masking.</summary>
    internal sealed record WireFrame(Opcode Opcode, bool Fin, byte[] Payload, byte[] MaskKey)
    {
        public override string ToString() => $"{Opcode}{(Fin ? "" : " (more)")} {Payload.Length} bytes";
    }

    /// <summary>What a run produced: whole messages, payloads of the pongs sent, the close frame sent, the close reported.</summary>
    internal sealed record Outcome(List<(MessageType Type, byte[] Payload)> Messages, List<byte[]> Pongs, int? CloseSent, int? CloseReported, byte[]? PeerReason)
    {
        public static Outcome Empty() => new([], [], null, null, null);

        public string Describe() =>
            $"messages [{string.Join(", ", Messages.Select(m => $"{m.Type}:{Convert.ToHexString(m.Payload)}"))}], " +
            $"pongs [{string.Join(", ", Pongs.Select(Convert.ToHexString))}], close sent {CloseSent?.ToString() ?? "none"}, " +
            $"reported {CloseReported?.ToString() ?? "none"} ({(PeerReason is null ? "-" : Convert.ToHexString(PeerReason))})";
    }

    private const int Iterations = 250;

    private static readonly byte[] Handshake = Encoding.ASCII.GetBytes(SessionHarness.Request);

    // Frame payload lengths: mostly small, sometimes exactly at the 7-bit/16-bit/64-bit length encoding edges.
    private static readonly Gen<int> Length = Gen.Frequency(
        (10, Gen.Int[0, 140]),
        (1, Gen.OneOf(Gen.Const(125), Gen.Const(126), Gen.Const(127), Gen.Const(65535), Gen.Const(65536))));

    private static readonly Gen<byte[]> MaskKey = Gen.Byte.Array[4];

    // Text from one- to four-byte UTF-8 characters (U+0000, U+FFFD and U+10FFFF included).
    private static readonly Gen<string> TextPiece = Gen.OneOf("a", "Z", " ", "\0", "\u007F", "é", "ß", "κ", "€", "中", "\uFFFD", "😀", "\U0010FFFF");

    private static readonly Gen<byte[]> Utf8Text = Gen.Frequency(
        (6, TextPiece.Array[0, 50].Select(pieces => Encoding.UTF8.GetBytes(string.Concat(pieces)))),
        (1, Length.Where(n => n >= 4).Select(n => Encoding.UTF8.GetBytes("😀" + new string('x', n - 4)))));

    private static readonly Gen<byte[]> BinaryPayload = Length.SelectMany(n => Gen.Byte.Array[n]);

    private static readonly Gen<WireFrame> PingOrPong = Gen.Select(Gen.Bool, Gen.Byte.Array[0, 125], MaskKey,
        (ping, payload, key) => new WireFrame(ping ? Opcode.Ping : Opcode.Pong, true, payload, key));

    /// <summary>A data message cut into 1-4 frames (empty ones allowed, UTF-8 sequences split anywhere), maybe with control frames between them.</summary>
    private static readonly Gen<WireFrame[]> Message =
        from text in Gen.Bool
        from payload in text ? Utf8Text : BinaryPayload
        from cuts in Gen.Int[0, payload.Length].Array[0, 3]
        from keys in MaskKey.Array[4]
        from controls in Gen.Frequency((3, Gen.Const((WireFrame?)null)), (1, PingOrPong.Select(f => (WireFrame?)f))).Array[3]
        select Fragment(text ? Opcode.Text : Opcode.Binary, payload, cuts, keys, controls);

    private static readonly Gen<WireFrame> Close =
        from code in Gen.OneOf(Gen.OneOf(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014), Gen.Int[3000, 4999])
        from reason in TextPiece.Array[0, 30]
        from key in MaskKey
        select new WireFrame(Opcode.Close, true, [(byte)(code >> 8), (byte)code, .. Encoding.UTF8.GetBytes(string.Concat(reason))], key);

    private static readonly Gen<List<WireFrame>> Sequence =
        from items in Gen.Frequency((4, Message), (1, PingOrPong.Select(f => new[] { f }))).Array[0, 6]
        from close in Gen.Frequency((1, Gen.Const(Array.Empty<WireFrame>())), (2, Close.Select(c => new[] { c })), (1, MaskKey.Select(k => new[] { new WireFrame(Opcode.Close, true, [], k) })))
        select items.SelectMany(f => f).Concat(close).ToList();

    /// <summary>How the transport cuts the bytes into reads: the largest read and a seed for the cuts.</summary>
    private static readonly Gen<(int MaxRead, int Seed)> Reads = Gen.Select(Gen.OneOf(1, 2, 7, 64, 1000, 200_000), Gen.Int);

    private static WireFrame[] Fragment(Opcode opCode, byte[] payload, int[] cuts, byte[][] keys, WireFrame?[] controls)
    {
        int[] bounds = [0, .. cuts.Order(), payload.Length];
        var frames = new List<WireFrame>();
        for (int i = 0; i + 1 < bounds.Length; i++)
        {
            bool last = i + 2 == bounds.Length;
            frames.Add(new WireFrame(i == 0 ? opCode : Opcode.Continuation, last, payload[bounds[i]..bounds[i + 1]], keys[i]));
            if (!last && controls[i] is { } control)
            {
                frames.Add(control); // §5.4: control frames may be injected between the fragments of a message
            }
        }
        return [.. frames];
    }

    /// <summary>The test's own frame writer (RFC 6455 §5.2): minimal length encoding, masked as §5.3 says.</summary>
    private static byte[] Serialize(IEnumerable<WireFrame> frames)
    {
        var bytes = new List<byte>();
        foreach (WireFrame frame in frames)
        {
            bytes.Add((byte)((frame.Fin ? 0x80 : 0) | (int)frame.Opcode));
            int length = frame.Payload.Length;
            if (length < 126)
            {
                bytes.Add((byte)(0x80 | length));
            }
            else if (length <= ushort.MaxValue)
            {
                bytes.AddRange([0x80 | 126, (byte)(length >> 8), (byte)length]);
            }
            else
            {
                bytes.AddRange([0x80 | 127, 0, 0, 0, 0, (byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length]);
            }
            bytes.AddRange(frame.MaskKey);
            for (int i = 0; i < length; i++)
            {
                bytes.Add((byte)(frame.Payload[i] ^ frame.MaskKey[i % 4]));
            }
        }
        return [.. bytes];
    }

    /// <summary>What the generated frames mean, straight from the model.</summary>
    private static Outcome Expected(List<WireFrame> frames)
    {
        Outcome outcome = Outcome.Empty();
        var message = new List<byte>();
        Opcode type = Opcode.Continuation;
        foreach (WireFrame frame in frames)
        {
            switch (frame.Opcode)
            {
                case Opcode.Ping:
                    outcome.Pongs.Add(frame.Payload);
                    break;
                case Opcode.Pong:
                    break;
                case Opcode.Close:
                    int code = frame.Payload.Length == 0 ? 1005 : BinaryPrimitives.ReadUInt16BigEndian(frame.Payload);
                    return outcome with { CloseSent = code, CloseReported = code, PeerReason = frame.Payload.Length == 0 ? [] : frame.Payload[2..] };
                default:
                    if (frame.Opcode != Opcode.Continuation)
                    {
                        type = frame.Opcode;
                    }
                    message.AddRange(frame.Payload);
                    if (frame.Fin)
                    {
                        outcome.Messages.Add(((MessageType)type, [.. message]));
                        message.Clear();
                    }
                    break;
            }
        }
        return outcome;
    }

    /// <summary>Feeds the handshake and then <paramref name="frames"/> in the given reads through a session; returns what came out.</summary>
    private static Outcome RunEngine(byte[] frames, (int MaxRead, int Seed) reads, bool streamed)
    {
        var harness = new SessionHarness(SessionHarness.DefaultSettings with { Streamed = streamed });
        harness.Host.Echo = false;
        harness.Feed(Handshake);
        Assert.Equal(SessionState.Open, harness.State);
        harness.FeedAll(Bytes.RandomPieces(frames, new Random(reads.Seed), reads.MaxRead));

        Outcome outcome = Outcome.Empty();
        var pieces = new List<byte>();
        foreach ((MessageType type, byte[] payload, bool end) in harness.Host.Messages)
        {
            pieces.AddRange(payload);
            if (end)
            {
                outcome.Messages.Add((type, [.. pieces]));
                pieces.Clear();
            }
        }
        List<ServerFrame> sent = harness.Frames();
        outcome.Pongs.AddRange(sent.Where(f => f.Opcode == Opcode.Pong).Select(f => f.Payload));
        Assert.All(sent, f => Assert.True(f.Opcode is Opcode.Pong or Opcode.Close, $"unexpected server frame {f.Opcode}"));
        ServerFrame[] closes = [.. sent.Where(f => f.Opcode == Opcode.Close)];
        Assert.True(closes.Length <= 1, "more than one close frame");
        Assert.True(harness.Host.Closes.Count <= 1, "the close reported more than once");
        int? closeSent = closes.Length == 1 ? closes[0].CloseCode : null;
        if (closeSent is int code && code != 1005)
        {
            Assert.True(CloseCodes.IsValidOnWire(code), $"close code {code} sent");
        }

        // The connection ends: nothing pooled may stay rented.
        harness.End();
        Assert.Equal(0, harness.Pool.Outstanding);

        (CloseCode Code, string Reason)? reported = harness.Host.Closes.Count == 1 ? harness.Host.Closes[0] : null;
        return outcome with
        {
            CloseSent = closeSent,
            CloseReported = reported is null ? null : (int)reported.Value.Code,
            PeerReason = reported is null ? null : Encoding.UTF8.GetBytes(reported.Value.Reason),
        };
    }

    private static void AssertSame(Outcome expected, Outcome actual, string what)
    {
        Assert.True(expected.Messages.Count == actual.Messages.Count
            && expected.Messages.Zip(actual.Messages).All(p => p.First.Type == p.Second.Type && p.First.Payload.AsSpan().SequenceEqual(p.Second.Payload))
            && expected.Pongs.Count == actual.Pongs.Count && expected.Pongs.Zip(actual.Pongs).All(p => p.First.AsSpan().SequenceEqual(p.Second))
            && expected.CloseSent == actual.CloseSent && expected.CloseReported == actual.CloseReported,
            $"{what}\nexpected: {expected.Describe()}\nactual:   {actual.Describe()}");
    }

    [Fact]
    public void Valid_frame_sequences_split_at_random_reads_decode_to_the_generated_messages_like_the_reference()
    {
        Gen.Select(Sequence, Reads, Gen.Bool).Sample((frames, reads, streamed) =>
        {
            byte[] stream = Serialize(frames);
            Outcome expected = Expected(frames);
            Outcome reference = ReferenceDecoder.Decode(stream, SessionHarness.DefaultSettings.MaxMessageSize);
            AssertSame(expected, reference, "the reference decoder disagrees with the generated frames");
            Outcome engine = RunEngine(stream, reads, streamed);
            AssertSame(reference, engine, "the engine disagrees with the reference");
            // The peer's close reason reaches the application as sent.
            if (expected.PeerReason is { } reason)
            {
                Assert.Equal(Encoding.UTF8.GetString(reason), Encoding.UTF8.GetString(engine.PeerReason!));
            }
        }, iter: Iterations, threads: 1, print: t => $"{string.Join(" | ", t.Item1)} reads {t.Item2} streamed {t.Item3}");
    }

    [Fact]
    public void A_single_corrupted_byte_decodes_like_the_reference_or_closes_with_a_valid_code()
    {
        Gen<(List<WireFrame>, int, byte, (int, int))> corrupted =
            from frames in Sequence.Where(f => f.Count > 0)
            from position in Gen.Int[0, int.MaxValue]
            from flip in Gen.Byte[1, 255]
            from reads in Reads
            select (frames, position, flip, reads);
        corrupted.Sample((frames, position, flip, reads) =>
        {
            byte[] stream = Serialize(frames);
            stream[position % stream.Length] ^= flip;
            Outcome reference = ReferenceDecoder.Decode(stream, SessionHarness.DefaultSettings.MaxMessageSize);
            Outcome engine = RunEngine(stream, reads, streamed: false);
            AssertSame(reference, engine, $"byte {position % stream.Length} xor {flip:X2}");
        }, iter: Iterations, threads: 1, print: t => $"{string.Join(" | ", t.Item1)} byte {t.Item2} xor {t.Item3:X2} reads {t.Item4}");
    }

    /// <summary>
    /// A deliberately simple RFC 6455 server-side decoder: header by header, payloads unmasked byte by byte, UTF-8
    /// checked with <see cref="Rune.DecodeFromUtf8"/> as soon as bytes arrive (§8.1 fail-fast), no engine code.
    /// It stops where the bytes run out (the rest of a frame would come later) or at the first close or error.
    /// </summary>
    private static class ReferenceDecoder
    {
        private enum Utf8State { Complete, Incomplete, Invalid }

        public static Outcome Decode(byte[] stream, long maxMessage)
        {
            Outcome outcome = Outcome.Empty();
            var message = new List<byte>();
            bool inMessage = false;
            int type = 0;
            int pos = 0;
            while (true)
            {
                if (stream.Length - pos < 2)
                {
                    return outcome;
                }
                byte b0 = stream[pos];
                byte b1 = stream[pos + 1];
                bool fin = (b0 & 0x80) != 0;
                int rsv = (b0 >> 4) & 7;
                int opcode = b0 & 0x0F;
                bool masked = (b1 & 0x80) != 0;
                int length7 = b1 & 0x7F;
                int header = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0);
                if (stream.Length - pos < header)
                {
                    return outcome;
                }
                ulong length = length7 switch
                {
                    126 => (ulong)((stream[pos + 2] << 8) | stream[pos + 3]),
                    127 => BinaryPrimitives.ReadUInt64BigEndian(stream.AsSpan(pos + 2)),
                    _ => (ulong)length7,
                };
                bool control = opcode >= 8;
                int? error =
                    length >= 1UL << 63 ? 1002                          // §5.2: the top bit of a 64-bit length is 0
                    : rsv != 0 ? 1002                                   // no extension negotiated
                    : opcode is not (0 or 1 or 2 or 8 or 9 or 10) ? 1002
                    : !masked ? 1002                                    // §5.1
                    : control && (length > 125 || !fin) ? 1002          // §5.5
                    : opcode == 0 && !inMessage ? 1002                  // §5.4
                    : opcode is 1 or 2 && inMessage ? 1002
                    : !control && (ulong)message.Count + length > (ulong)maxMessage ? 1009
                    : null;
                if (error is int code)
                {
                    return outcome with { CloseSent = code, CloseReported = code };
                }
                byte[] key = masked ? stream[(pos + header - 4)..(pos + header)] : [0, 0, 0, 0];
                pos += header;
                int available = (int)Math.Min(length, (ulong)(stream.Length - pos));
                byte[] payload = new byte[available];
                for (int i = 0; i < available; i++)
                {
                    payload[i] = (byte)(stream[pos + i] ^ key[i % 4]);
                }
                if (control)
                {
                    if ((ulong)available < length)
                    {
                        return outcome;
                    }
                    pos += available;
                    if (opcode == 9)
                    {
                        outcome.Pongs.Add(payload);
                    }
                    else if (opcode == 8)
                    {
                        return CloseFrame(outcome, payload);
                    }
                    continue;
                }
                if (!inMessage)
                {
                    inMessage = true;
                    type = opcode;
                    message.Clear();
                }
                message.AddRange(payload);
                Utf8State utf8 = type == 1 ? Scan([.. message]) : Utf8State.Complete;
                if (utf8 == Utf8State.Invalid)
                {
                    return outcome with { CloseSent = 1007, CloseReported = 1007 };
                }
                if ((ulong)available < length)
                {
                    return outcome;
                }
                pos += available;
                if (fin)
                {
                    if (utf8 == Utf8State.Incomplete)
                    {
                        return outcome with { CloseSent = 1007, CloseReported = 1007 };
                    }
                    outcome.Messages.Add(((MessageType)type, [.. message]));
                    inMessage = false;
                    message.Clear();
                }
            }
        }

        private static Outcome CloseFrame(Outcome outcome, byte[] body)
        {
            if (body.Length == 0)
            {
                return outcome with { CloseSent = 1005, CloseReported = 1005, PeerReason = [] };
            }
            int code = body.Length >= 2 ? (body[0] << 8) | body[1] : 0;
            bool validCode = code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);
            if (body.Length == 1 || !validCode)
            {
                return outcome with { CloseSent = 1002, CloseReported = 1002 };
            }
            if (Scan(body[2..]) != Utf8State.Complete)
            {
                return outcome with { CloseSent = 1007, CloseReported = 1007 };
            }
            return outcome with { CloseSent = code, CloseReported = code, PeerReason = body[2..] };
        }

        private static Utf8State Scan(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                switch (Rune.DecodeFromUtf8(bytes, out _, out int consumed))
                {
                    case OperationStatus.Done:
                        bytes = bytes[consumed..];
                        break;
                    case OperationStatus.NeedMoreData:
                        return Utf8State.Incomplete;
                    default:
                        return Utf8State.Invalid;
                }
            }
            return Utf8State.Complete;
        }
    }
}
