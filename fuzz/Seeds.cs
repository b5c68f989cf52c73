using System.IO.Compression;
using System.Text;
using Engine.Protocol;

namespace Engine.Fuzz;

/// <summary>
/// The seed corpora, from the unit-test vectors (tests/Unit/Session/WebSocketSessionTests.cs, tests/Unit/Protocol/*):
/// valid conversations and each protocol violation for the session target, the handshake table for the handshake target.
/// Written by <c>Engine.Fuzz seeds fuzz/corpus</c>; the files are committed so runs start from the same corpus.
/// </summary>
internal static class Seeds
{
    private const string Key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";

    public static void Write(string directory)
    {
        Write(Path.Combine(directory, "session"), SessionSeeds());
        Write(Path.Combine(directory, "handshake"), HandshakeSeeds());
        Write(Path.Combine(directory, "transport"), TransportSeeds.All());
    }

    private static void Write(string directory, IEnumerable<(string Name, byte[] Bytes)> seeds)
    {
        Directory.CreateDirectory(directory);
        foreach ((string name, byte[] bytes) in seeds)
        {
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
        }
    }

    /// <summary>A client frame: masked with <paramref name="key"/> unless <paramref name="masked"/> is false.</summary>
    public static byte[] Frame(Opcode opCode, ReadOnlySpan<byte> payload, bool fin = true, uint key = 0x3D21FA37, byte rsv = 0, bool masked = true)
    {
        byte[] frame = new byte[FrameWriter.HeaderLength(payload.Length, masked) + payload.Length];
        int header = masked ? FrameWriter.WriteMaskedHeader(frame, opCode, fin, payload.Length, key, rsv) : FrameWriter.WriteHeader(frame, opCode, fin, payload.Length, rsv);
        payload.CopyTo(frame.AsSpan(header));
        if (masked)
        {
            Masking.Apply(frame.AsSpan(header), key, 0);
        }
        return frame;
    }

    public static byte[] Text(string text, bool fin = true) => Frame(Opcode.Text, Encoding.UTF8.GetBytes(text), fin);

    public static byte[] Close(int code, string reason = "") => Frame(Opcode.Close, [(byte)(code >> 8), (byte)code, .. Encoding.UTF8.GetBytes(reason)]);

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>RFC 7692 §7.2.1: a message compressed with a sync flush, the 00 00 FF FF tail removed.</summary>
    private static byte[] Deflate(byte[] data)
    {
        using var buffer = new MemoryStream();
        using var deflate = new DeflateStream(buffer, CompressionLevel.Optimal, leaveOpen: true);
        deflate.Write(data);
        deflate.Flush();
        byte[] bytes = buffer.ToArray();
        return bytes[..^4];
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>The client streams (after the upgrade) of the session seeds; the transport seeds reuse them.</summary>
    public static (string Name, byte[] Bytes)[] Streams()
    {
        byte[] binary300 = [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 7))];
        return
        [
            ("conversation", Concat(Text("Hello"), Frame(Opcode.Binary, binary300, key: 0x01020304), Text("Hel", fin: false),
                Frame(Opcode.Ping, "ping!"u8, key: 0xDEADBEEF), Frame(Opcode.Continuation, "lo "u8, fin: false, key: 0),
                Frame(Opcode.Pong, "unsolicited"u8), Frame(Opcode.Continuation, ""u8, fin: false),
                Frame(Opcode.Continuation, "wörld"u8, key: 0xFFFFFFFF), Close(1000, "bye"))),
            ("rfc-hello", Hex("81 85 37 FA 21 3D 7F 9F 4D 51 58")),
            ("lengths-125-126", Concat(Frame(Opcode.Binary, new byte[125]), Frame(Opcode.Binary, new byte[126]), Close(1000))),
            ("length-64bit-partial", Concat(Hex("82 FF 00 00 00 00 00 01 00 00 37 FA 21 3D"), new byte[40])),
            ("multibyte-text", Concat(Text("κόσμε 😀 ü", fin: false), Frame(Opcode.Continuation, Hex("F0 9F")), Close(1001, "gone"))),
            ("ping-pong-close-empty", Concat(Frame(Opcode.Ping, ""u8), Frame(Opcode.Pong, "x"u8), Frame(Opcode.Close, ""u8))),
            ("close-3000-reason", Close(3000, "application reason ü")),
            ("rsv-set", Frame(Opcode.Text, "x"u8, rsv: 4)),
            ("unknown-opcode", Frame((Opcode)3, "x"u8)),
            ("unmasked", Frame(Opcode.Text, "x"u8, masked: false)),
            ("fragmented-ping", Frame(Opcode.Ping, "x"u8, fin: false)),
            ("long-ping", Frame(Opcode.Ping, new byte[126])),
            ("lonely-continuation", Frame(Opcode.Continuation, "x"u8)),
            ("expected-continuation", Concat(Text("a", fin: false), Text("b"))),
            ("length-top-bit", Hex("82 FF 80 00 00 00 00 00 00 05 01 02 03 04")),
            ("invalid-utf8", Frame(Opcode.Text, Hex("CE BA ED A0 80"))),
            ("utf8-cut", Frame(Opcode.Text, Hex("41 E2 82"))),
            ("utf8-across-fragments", Concat(Frame(Opcode.Text, Hex("E2"), fin: false), Frame(Opcode.Continuation, Hex("82 AC")))),
            ("close-1-byte", Frame(Opcode.Close, [3])),
            ("close-1005", Close(1005)),
            ("close-999", Close(999)),
            ("close-bad-reason", Frame(Opcode.Close, Hex("03 E8 ED A0 80"))),
            ("too-big", Frame(Opcode.Binary, new byte[400])),
            ("many-fragments", Concat(Text("a", fin: false), Frame(Opcode.Continuation, "b"u8, fin: false), Frame(Opcode.Continuation, "c"u8, fin: false),
                Frame(Opcode.Continuation, "d"u8, fin: false), Frame(Opcode.Continuation, "e"u8, fin: false), Frame(Opcode.Continuation, "f"u8))),
            ("after-close", Concat(Close(1000), Text("ignored"))),
        ];
    }

    private static IEnumerable<(string, byte[])> SessionSeeds()
    {
        (string Name, byte[] Bytes)[] streams = Streams();
        // Option byte, longest read, seed: one read; small random reads; and other settings for some of the streams.
        (byte Options, byte MaxPiece, string Tag)[] variants = [(0, 0, "whole"), (0, 7, "split")];
        int index = 0;
        foreach ((string name, byte[] bytes) in streams)
        {
            foreach ((byte options, byte maxPiece, string tag) in variants)
            {
                yield return ($"{name}-{tag}", [options, maxPiece, (byte)index, 0, .. bytes]);
            }
            (byte, byte, string) extra = (index % 6) switch
            {
                0 => ((byte)SessionOptions.Streamed, 5, "streamed"),
                1 => ((byte)SessionOptions.SmallLimits, 9, "small"),
                2 => ((byte)SessionOptions.Clock, 3, "clock"),
                3 => ((byte)SessionOptions.AppClose, 4, "appclose"),
                4 => ((byte)SessionOptions.Reused, 6, "reused"),
                _ => ((byte)(SessionOptions.Streamed | SessionOptions.SmallLimits | SessionOptions.NoEcho), 2, "streamed-small"),
            };
            yield return ($"{name}-{extra.Item3}", [extra.Item1, extra.Item2, (byte)index, 1, .. bytes]);
            index++;
        }
        // permessage-deflate (RSV1 = 4 on the first frame of a compressed message).
        byte[] hello = Deflate("Hello, compressed world! Hello, compressed world!"u8.ToArray());
        byte[] zeros = Deflate(new byte[100_000]);
        var deflated = new (string Name, byte[] Bytes)[]
        {
            ("deflate-text", Frame(Opcode.Text, hello, rsv: 4)),
            ("deflate-fragmented", Concat(Frame(Opcode.Binary, hello[..5], fin: false, rsv: 4), Frame(Opcode.Ping, "p"u8),
                Frame(Opcode.Continuation, hello[5..]), Text("plain after compressed"), Close(1000))),
            ("deflate-rsv1-on-continuation", Concat(Frame(Opcode.Text, hello[..3], fin: false, rsv: 4), Frame(Opcode.Continuation, hello[3..], rsv: 4))),
            ("deflate-rsv1-on-ping", Frame(Opcode.Ping, hello, rsv: 4)),
            ("deflate-garbage", Frame(Opcode.Binary, Hex("FF FF FF FF 00 12 34"), rsv: 4)),
            ("deflate-bomb", Frame(Opcode.Binary, zeros, rsv: 4)),
        };
        foreach ((string name, byte[] bytes) in deflated)
        {
            yield return ($"{name}-whole", [(byte)SessionOptions.Deflate, 0, 0, 0, .. bytes]);
            yield return ($"{name}-split", [(byte)(SessionOptions.Deflate | (name.EndsWith("bomb", StringComparison.Ordinal) ? SessionOptions.SmallLimits : SessionOptions.Streamed)), 6, 3, 0, .. bytes]);
        }
        yield return ("raw-upgrade-and-frames", [(byte)SessionOptions.Raw, 11, 1, 2, .. SessionTarget.Upgrade, .. Text("hi"), .. Close(1000)]);
        yield return ("raw-plain-get", [(byte)SessionOptions.Raw, 0, 0, 0, .. "GET / HTTP/1.1\r\nHost: h\r\n\r\n"u8]);
        yield return ("raw-garbage", [(byte)SessionOptions.Raw, 3, 5, 0, .. "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"u8]);
    }

    private static IEnumerable<(string, byte[])> HandshakeSeeds()
    {
        string[] requests =
        [
            "GET /chat HTTP/1.1|Host: server.example.com|Upgrade: websocket|Connection: Upgrade|" + Key + "|Origin: http://example.com|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: keep-alive, Upgrade|" + Key + "|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.1|Host: h|upgrade: WebSocket|connection: UPGRADE|sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==|SEC-WEBSOCKET-VERSION: 13",
            "GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: keep-alive|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.1|Host:h|Upgrade:websocket|Connection:\tUpgrade\t|Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==   |Sec-WebSocket-Version:13",
            "GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13|Sec-WebSocket-Protocol: chat, superchat",
            "POST /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.0|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.1|Host: a|Host: b|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgraded|" + Key + "|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 8",
            "GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=|Sec-WebSocket-Version: 13",
            "GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|" + Key + "|Sec-WebSocket-Version: 13",
            "GET / HTTP/1.1|Host: h",
            "HEAD / HTTP/1.1|Host: h",
            "POST /form HTTP/1.1|Host: h|Connection: Upgrade|Upgrade: h2c",
            "GET /chat HTTP/1.1|Host: h| folded|Upgrade: websocket",
            "GET /chat HTTP/1.1|Host : h",
            "GET /chat HTTP/1.1|: h",
            "GET /chat HTTP/1.1|Ho(st: h",
            "GET /chat",
            "GET  /chat HTTP/1.1|Host: h",
            "GET /chat HTTP/11|Host: h",
            "GET /ch at HTTP/1.1|Host: h",
            "GET /chat HTTP/1.1|Host: h\nX: y",
        ];
        int index = 0;
        foreach (string request in requests)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(request.Replace("|", "\r\n", StringComparison.Ordinal) + "\r\n\r\n");
            yield return ($"request-{index:D2}", [0, (byte)(index % 3 == 0 ? 0 : 5 + index), .. bytes]);
            index++;
        }
        // The size limit (64 + 4 * 3 = 76 bytes) and the header count limit.
        yield return ("over-the-limit", [130, 0, .. "GET / HTTP/1.1\r\nHost: h\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"u8]);
        yield return ("many-headers", [0, 9, .. Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, 65).Select(i => $"X-{i}: {i}\r\n")) + "\r\n")]);
        yield return ("incomplete", [0, 0, .. "GET /chat HTTP/1.1\r\nHost: h\r\n"u8]);
    }
}
