using System.Text;
using Engine.Compression;
using Engine.Protocol;
using Engine.Session;
using Engine.Tests.Unit.Session;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Fuzz;

/// <summary>Findings of the long fuzz runs, as readable tests against the engine (the raw inputs are in fuzz/corpus/*/regression-*).</summary>
public class FuzzRegressionTests
{
    private const string DeflateRequest =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    /// <summary>
    /// afl-fuzz, session target with permessage-deflate (fuzz/corpus/session/regression-deflate-utf8-or-zlib-error): a
    /// compressed text frame (RSV1) whose inflated start is not UTF-8 and whose later bytes are not deflate data. In one
    /// read zlib reports the corrupt data first ("invalid compressed data"); cut into reads, the inflated part fails
    /// UTF-8 first ("invalid UTF-8"). The harness had required the same close reason for every cut; the RFC asks for the
    /// code, and the code is 1007 either way. This pins that: no message, one close, 1007 sent and reported, nothing leaked.
    /// </summary>
    [Fact]
    public void A_corrupt_compressed_text_message_closes_with_1007_however_it_is_split()
    {
        byte[] frame = Convert.FromHexString("C19E37FA213DC5B2ECF4FE137075F93500157DD70F7336FA");
        var reasons = new HashSet<string>();
        foreach (byte[][] reads in Bytes.SplitsInTwo(frame).Append(Bytes.OneBytePieces(frame)))
        {
            (CloseCode code, string reason) = FailCompressed(reads, SessionHarness.DefaultSettings.MaxMessageSize);
            Assert.Equal(CloseCode.InvalidPayloadData, code);
            reasons.Add(reason);
        }
        Assert.Subset(new HashSet<string> { "invalid UTF-8", "invalid compressed data" }, reasons);
    }

    /// <summary>
    /// afl-fuzz, session target with permessage-deflate and a 300-byte message limit (CI's fuzz smoke,
    /// fuzz/corpus/session/regression-utf8-before-size-split): a compressed text frame that inflates past the limit and
    /// whose inflated bytes break UTF-8 before the limit. In one read zlib handed back more than the limit at once and
    /// the size check came first (1009); cut into 6-byte reads the earlier output broke UTF-8 first (1007). The bytes
    /// within the limit are now judged first whatever the cut: 1007, sent and reported, nothing leaked.
    /// </summary>
    [Fact]
    public void A_compressed_text_message_past_the_limit_that_breaks_UTF8_within_it_closes_with_1007_however_it_is_split()
    {
        byte[] frame = Convert.FromHexString("C19E37FB213DC5B2ECF4FE2D7061F9350CEA7DD70F737AAB09DA2D2D2D2D2D2D2D2D2DFA");
        foreach (byte[][] reads in Bytes.SplitsInTwo(frame).Append(Bytes.OneBytePieces(frame)).Append([frame]))
        {
            Assert.Equal((CloseCode.InvalidPayloadData, "invalid UTF-8"), FailCompressed(reads, maxMessageSize: 300));
        }
    }

    /// <summary>
    /// Opens a session with permessage-deflate, feeds <paramref name="reads"/>, and checks what every such finding must
    /// end in: no message, one close reported, one close frame sent with 1007, nothing leaked after teardown. Returns
    /// the close reported.
    /// </summary>
    private static (CloseCode Code, string Reason) FailCompressed(byte[][] reads, long maxMessageSize)
    {
        using var pool = new CompressionPool(level: 6, memoryLevel: 8, maxConcurrentCompressions: 2, maxRetained: 2);
        var settings = SessionHarness.DefaultSettings with
        {
            MaxMessageSize = maxMessageSize,
            Compression = new SessionCompression(new DeflateConfig(15, 15, ServerNoContextTakeover: true, ClientNoContextTakeover: false), 16, pool),
        };
        var harness = new SessionHarness(settings);
        harness.Feed(Encoding.ASCII.GetBytes(DeflateRequest));
        Assert.Equal(SessionState.Open, harness.State);
        Assert.NotNull(harness.Session.Deflate);
        harness.FeedAll(reads);

        Assert.Empty(harness.Host.Messages);
        (CloseCode code, string reason) = Assert.Single(harness.Host.Closes);
        ServerFrame close = Assert.Single(harness.Frames());
        Assert.Equal((Opcode.Close, 1007), (close.Opcode, close.CloseCode));

        harness.End();
        Assert.Equal(0, harness.Pool.Outstanding);
        pool.Dispose();
        Assert.Equal((0L, 0L), (pool.LiveInflaters, pool.LiveDeflaters));
        return (code, reason);
    }
}
