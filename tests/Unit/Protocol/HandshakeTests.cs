using System.Buffers;
using System.Text;
using Engine.Protocol;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Protocol;

/// <summary>HttpRequestParser and HandshakeValidator together, the way the session uses them.</summary>
public class HandshakeTests
{
    public const string GoodRequest =
        "GET /chat HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Origin: http://example.com\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n";

    /// <summary>A request from lines separated by '|' (the blank line is added).</summary>
    private static byte[] Request(string lines) => Encoding.ASCII.GetBytes(lines.Replace("|", "\r\n", StringComparison.Ordinal) + "\r\n\r\n");

    private const string Key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";

    private static (OperationStatus Status, HandshakeKind Kind, int HttpStatus, string Key) Handle(byte[] input, int maxHead = 8192)
    {
        HttpRequestHead head = default;
        OperationStatus status = HttpRequestParser.TryParse(input, maxHead, ref head, out int errorStatus);
        if (status != OperationStatus.Done)
        {
            return (status, HandshakeKind.Rejected, errorStatus, "");
        }
        HandshakeKind kind = HandshakeValidator.Validate(input, head, out Slice key, out int httpStatus);
        return (status, kind, httpStatus, Encoding.ASCII.GetString(key.Of(input)));
    }

    [Fact]
    public void Parses_the_rfc_6455_request()
    {
        byte[] input = Encoding.ASCII.GetBytes(GoodRequest);
        HttpRequestHead head = default;
        Assert.Equal(OperationStatus.Done, HttpRequestParser.TryParse(input, 8192, ref head, out int errorStatus));
        Assert.Equal(0, errorStatus);
        Assert.Equal(input.Length, head.Length);
        Assert.Equal("GET", Encoding.ASCII.GetString(head.Method.Of(input)));
        Assert.Equal("/chat", Encoding.ASCII.GetString(head.Target.Of(input)));
        Assert.Equal("HTTP/1.1", Encoding.ASCII.GetString(head.Version.Of(input)));
        Assert.Equal(6, head.HeaderCount);
        Assert.True(head.TryGetHeader(input, "origin"u8, out ReadOnlySpan<byte> origin));
        Assert.Equal("http://example.com", Encoding.ASCII.GetString(origin));
        Assert.False(head.TryGetHeader(input, "Cookie"u8, out _));

        Assert.Equal(HandshakeKind.Upgrade, HandshakeValidator.Validate(input, head, out Slice key, out int status));
        Assert.Equal(101, status);
        Assert.Equal("dGhlIHNhbXBsZSBub25jZQ==", Encoding.ASCII.GetString(key.Of(input)));
    }

    [Fact]
    public void Needs_more_data_at_every_split_point_and_ignores_what_follows_the_head()
    {
        byte[] input = Encoding.ASCII.GetBytes(GoodRequest);
        for (int k = 0; k < input.Length; k++)
        {
            HttpRequestHead head = default;
            Assert.Equal(OperationStatus.NeedMoreData, HttpRequestParser.TryParse(input.AsSpan(0, k), 8192, ref head, out int errorStatus));
            Assert.Equal(0, errorStatus);
        }
        // The head followed by the first WebSocket frame in the same read.
        byte[] withFrame = Bytes.Concat(input, ClientFrames.Text("hi"));
        (OperationStatus status, HandshakeKind kind, int httpStatus, string key) = Handle(withFrame);
        Assert.Equal((OperationStatus.Done, HandshakeKind.Upgrade, 101, "dGhlIHNhbXBsZSBub25jZQ=="), (status, kind, httpStatus, key));
        HttpRequestHead h = default;
        HttpRequestParser.TryParse(withFrame, 8192, ref h, out _);
        Assert.Equal(input.Length, h.Length);
    }

    // request lines ('|' = CRLF), expected kind, expected status
    [Theory]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Upgrade, 101)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: keep-alive, Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Upgrade, 101)]
    [InlineData("GET /chat HTTP/1.1|Host: h|upgrade: WebSocket|connection: UPGRADE|sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==|SEC-WEBSOCKET-VERSION: 13", (int)HandshakeKind.Upgrade, 101)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade,keep-alive|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Upgrade, 101)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: keep-alive|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Upgrade, 101)]
    [InlineData("GET /chat HTTP/1.1|Host:h|Upgrade:websocket|Connection:\tUpgrade\t|Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==   |Sec-WebSocket-Version:13", (int)HandshakeKind.Upgrade, 101)]
    [InlineData("POST /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 405)]
    [InlineData("PUT /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 405)]
    [InlineData("GET /chat HTTP/1.0|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 505)]
    [InlineData("GET /chat HTTP/1.1|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: a|Host: b|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: keep-alive|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgraded|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 8", (int)HandshakeKind.Rejected, 426)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 14", (int)HandshakeKind.Rejected, 426)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key, (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)] // 15 bytes
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)] // 17 bytes
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)] // 18 bytes
    [InlineData("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.Rejected, 400)]
    [InlineData("GET / HTTP/1.1|Host: h", (int)HandshakeKind.PlainHttp, 0)]
    [InlineData("GET / HTTP/1.0", (int)HandshakeKind.PlainHttp, 0)]
    [InlineData("POST /form HTTP/1.1|Host: h|Connection: Upgrade|Upgrade: h2c", (int)HandshakeKind.PlainHttp, 0)]
    [InlineData("GET /chat HTTP/1.1|Host: h|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13", (int)HandshakeKind.PlainHttp, 0)]
    public void Validates_requests(string lines, int expectedKind, int expectedStatus)
    {
        byte[] input = Request(lines);
        (OperationStatus status, HandshakeKind kind, int httpStatus, _) = Handle(input);
        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal((HandshakeKind)expectedKind, kind);
        Assert.Equal(expectedStatus, httpStatus);
        for (int k = 0; k < input.Length; k++)
        {
            HttpRequestHead head = default;
            Assert.Equal(OperationStatus.NeedMoreData, HttpRequestParser.TryParse(input.AsSpan(0, k), 8192, ref head, out _));
        }
    }

    // request lines, expected parser status
    [Theory]
    [InlineData("GET /chat HTTP/1.1|Host: h| folded|Upgrade: websocket", 400)] // obs-fold
    [InlineData("GET /chat HTTP/1.1|Host: h|\tfolded", 400)]
    [InlineData("GET /chat HTTP/1.1| Host: h", 400)]
    [InlineData("GET /chat HTTP/1.1|Host : h", 400)] // whitespace before the colon
    [InlineData("GET /chat HTTP/1.1|Host\t: h", 400)]
    [InlineData("GET /chat HTTP/1.1|: h", 400)]
    [InlineData("GET /chat HTTP/1.1|Host h", 400)]
    [InlineData("GET /chat HTTP/1.1|Ho(st: h", 400)]
    [InlineData("GET /chat", 400)]
    [InlineData("GET  /chat HTTP/1.1|Host: h", 400)]
    [InlineData("GET /chat http/1.1|Host: h", 400)]
    [InlineData("GET /chat HTTP/11|Host: h", 400)]
    [InlineData("G(T /chat HTTP/1.1|Host: h", 400)]
    [InlineData("GET /ch at HTTP/1.1|Host: h", 400)]
    [InlineData("GET /chat HTTP/1.1|Host: h\nX: y", 400)] // bare LF inside a field
    public void Rejects_malformed_heads(string lines, int expectedStatus)
    {
        byte[] input = Request(lines);
        HttpRequestHead head = default;
        Assert.Equal(OperationStatus.InvalidData, HttpRequestParser.TryParse(input, 8192, ref head, out int errorStatus));
        Assert.Equal(expectedStatus, errorStatus);
    }

    [Fact]
    public void A_head_longer_than_the_limit_gets_431()
    {
        byte[] input = Encoding.ASCII.GetBytes(GoodRequest);
        Assert.Equal((OperationStatus.Done, HandshakeKind.Upgrade, 101), Trim(Handle(input, maxHead: input.Length)));
        Assert.Equal((OperationStatus.InvalidData, HandshakeKind.Rejected, 431), Trim(Handle(input, maxHead: input.Length - 1)));
        // Without the blank line yet: as soon as the limit is reached there is no point in waiting.
        Assert.Equal((OperationStatus.InvalidData, HandshakeKind.Rejected, 431), Trim(Handle(input[..100], maxHead: 100)));
        Assert.Equal((OperationStatus.NeedMoreData, HandshakeKind.Rejected, 0), Trim(Handle(input[..99], maxHead: 100)));

        static (OperationStatus, HandshakeKind, int) Trim((OperationStatus S, HandshakeKind K, int H, string _) r) => (r.S, r.K, r.H);
    }

    [Theory]
    [InlineData(59, OperationStatus.Done, 0)]
    [InlineData(60, OperationStatus.InvalidData, 431)]
    [InlineData(200, OperationStatus.InvalidData, 431)]
    public void More_than_64_headers_get_431(int extraHeaders, OperationStatus expected, int expectedStatus)
    {
        // The five upgrade headers plus the extras: 64 in all is fine, 65 is not.
        var lines = new StringBuilder("GET /chat HTTP/1.1|Host: h|Upgrade: websocket|Connection: Upgrade|" + Key + "|Sec-WebSocket-Version: 13");
        for (int i = 0; i < extraHeaders; i++)
        {
            lines.Append("|X-").Append(i).Append(": v");
        }
        byte[] input = Request(lines.ToString());
        HttpRequestHead head = default;
        Assert.Equal(expected, HttpRequestParser.TryParse(input, 1 << 20, ref head, out int errorStatus));
        Assert.Equal(expectedStatus, errorStatus);
        if (expected == OperationStatus.Done)
        {
            Assert.Equal(HttpRequestHead.MaxHeaders, head.HeaderCount);
            Assert.Equal(HandshakeKind.Upgrade, HandshakeValidator.Validate(input, head, out _, out _));
        }
    }
}

public class AcceptKeyTests
{
    [Fact]
    public void Computes_the_rfc_6455_example()
    {
        Span<byte> accept = stackalloc byte[AcceptKey.Length];
        AcceptKey.Compute("dGhlIHNhbXBsZSBub25jZQ=="u8, accept);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Encoding.ASCII.GetString(accept));
    }

    [Theory]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==", true)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==", true)]
    [InlineData("AAAAAAAAAAAAAAAAAAAA", false)] // 15 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAA=", false)] // 17 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAA", false)] // 18 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAA", false)] // 21 bytes
    [InlineData("dGhlIHNhbXBsZSBub25jZQ=", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ!=", false)]
    [InlineData("", false)]
    public void Validates_keys(string key, bool valid) => Assert.Equal(valid, AcceptKey.IsValidKey(Encoding.ASCII.GetBytes(key)));

    [Fact]
    public void Writes_the_101_response()
    {
        var output = new ArrayBufferWriter<byte>();
        HttpResponseWriter.WriteSwitchingProtocols(output, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="u8, "chat", extensions: null);
        Assert.Equal(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
            Encoding.ASCII.GetString(output.WrittenSpan));
    }
}
