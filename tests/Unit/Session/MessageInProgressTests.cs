using System.Text;
using Engine.Compression;
using Engine.Protocol;
using Engine.Session;
using Engine.Tests.Support;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Tests.Unit.Session;

/// <summary>
/// A session holds the parse state of a data message only while one that did not arrive whole is in progress: borrowed
/// from the server's pool, and given back on every way a message ends (memory per idle connection; a state kept by a
/// session that ended would leak from the pool's point of view).
/// </summary>
public sealed class MessageInProgressTests
{
    private sealed class CountingPool : ObjectPool<MessageInProgress>
    {
        public int Borrowed { get; private set; }

        public int Outstanding { get; private set; }

        public override MessageInProgress Get()
        {
            Borrowed++;
            Outstanding++;
            return new MessageInProgress();
        }

        public override void Return(MessageInProgress obj)
        {
            Assert.Null(obj.Assembly); // its buffer went back to the message pool first
            Assert.Null(obj.InflateScratch);
            Outstanding--;
        }
    }

    private readonly CountingPool _messages = new();

    private SessionHarness Open(bool deflate = false)
    {
        // With deflate agreed, the session keeps the message in progress inside its deflate state (one field for both).
        var harness = new SessionHarness(SessionHarness.DefaultSettings with
        {
            Messages = _messages,
            Compression = deflate ? SessionCompression.From(new CompressionOptions { Enabled = true, Threshold = 0 }) : null,
        });
        harness.Feed(Encoding.ASCII.GetBytes(deflate
            ? SessionHarness.Request[..^2] + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
            : SessionHarness.Request));
        Assert.Equal(SessionState.Open, harness.State);
        Assert.Equal(deflate, harness.Session.Deflate is not null);
        return harness;
    }

    [Fact]
    public void Messages_that_arrive_whole_borrow_nothing()
    {
        SessionHarness harness = Open();
        harness.Feed(Bytes.Concat(ClientFrames.Text("one"), ClientFrames.Frame(Opcode.Binary, new byte[300]), ClientFrames.Text("three")));

        Assert.Equal(3, harness.Host.Messages.Count);
        Assert.Equal(0, _messages.Borrowed);
    }

    [Fact]
    public void A_frame_split_across_reads_borrows_the_state_until_its_message_is_delivered()
    {
        SessionHarness harness = Open();
        byte[] frame = ClientFrames.Frame(Opcode.Binary, new byte[1000]);
        harness.Feed(frame.AsSpan(0, 400));
        Assert.Equal(1, _messages.Outstanding);

        harness.Feed(frame.AsSpan(400));
        Assert.Single(harness.Host.Messages);
        Assert.Equal(1000, harness.Host.Messages[0].Payload.Length);
        Assert.Equal(0, _messages.Outstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // an uncompressed message on a connection that agreed deflate
    public void A_fragmented_message_keeps_one_state_through_its_fragments_and_control_frames(bool deflate)
    {
        SessionHarness harness = Open(deflate);
        harness.Feed(Bytes.Concat(ClientFrames.Text("Hel", fin: false), ClientFrames.Frame(Opcode.Ping, "p"u8)));
        harness.Feed(ClientFrames.Frame(Opcode.Continuation, "lo"u8));

        Assert.Equal("Hello", Encoding.UTF8.GetString(Assert.Single(harness.Host.Messages).Payload));
        Assert.Equal(1, _messages.Borrowed);
        Assert.Equal(0, _messages.Outstanding);
    }

    [Fact]
    public void A_message_failed_midway_gives_its_state_back()
    {
        SessionHarness harness = Open();
        harness.Feed(ClientFrames.Text("fine so far", fin: false));
        Assert.Equal(1, _messages.Outstanding);

        harness.Feed(ClientFrames.Frame(Opcode.Continuation, [0xC3, 0x28])); // invalid UTF-8: 1007
        Assert.Equal(SessionState.Closed, harness.State);
        Assert.Equal(0, _messages.Outstanding);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)] // a compressed message: its inflate scratch goes back too
    public void A_message_cut_off_by_the_connection_ending_gives_its_state_back(bool deflate, bool compressed)
    {
        SessionHarness harness = Open(deflate);
        byte[] start = compressed ? [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00] : new byte[100]; // "Hello", deflated, unflushed
        harness.Feed(ClientFrames.Frame(Opcode.Binary, start, fin: false, rsv: (byte)(compressed ? 4 : 0)));
        Assert.Equal(1, _messages.Outstanding);

        ((ITransportHandler)harness.Session).OnTransportClosed(null);
        Assert.Equal(0, _messages.Outstanding);
    }
}
