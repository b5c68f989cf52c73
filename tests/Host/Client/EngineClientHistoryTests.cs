using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Engine.Client;

namespace Engine.Tests.ClientTests;

/// <summary>
/// The C# client's channel positions against a scripted server (the engine with a handler that answers as the test
/// says): what it re-subscribes with after a reconnect, for each kind of <c>subscribed</c> a history server can send.
/// tests/Backplane runs the same path against real Host nodes and Redis.
/// </summary>
public sealed class EngineClientHistoryTests
{
    private static readonly TimeSpan Wait = TestTimeouts.Hang; // every wait here is for something that must happen

    [Fact]
    public void Subscribe_carries_offset_and_epoch_only_with_a_position()
    {
        Assert.Equal("""{"type":"subscribe","channel":"news"}""", Encoding.UTF8.GetString(HostProtocol.Subscribe("news")));
        Assert.Equal("""{"type":"subscribe","channel":"news","offset":42,"epoch":"k3x9q1"}""",
            Encoding.UTF8.GetString(HostProtocol.Subscribe("news", new HistoryPosition(42, "k3x9q1"))));
    }

    [Theory]
    [InlineData(new byte[] { 0x04, 1, (byte)'c', 1, (byte)'b', 0, 0, 0, 0, 0, 0, 1, 0x2A, 0xAA, 0xBB }, 298L, new byte[] { 0xAA, 0xBB })]
    [InlineData(new byte[] { 0x04, 1, (byte)'c', 1, (byte)'b', 0, 0, 0, 0, 0, 0, 0, 7 }, 7L, new byte[0])]
    [InlineData(new byte[] { 0x02, 1, (byte)'c', 1, (byte)'b', 0xAA }, null, new byte[] { 0xAA })]
    public void Channel_envelopes_decode_with_and_without_an_offset(byte[] frame, long? offset, byte[] payload)
    {
        int header = frame.Length - payload.Length;
        for (int length = 0; length < frame.Length; length++)
        {
            // Cut inside the header (the offset included): not a message. Cut inside the payload: a shorter payload.
            bool decoded = HostProtocol.TryDecodeChannelEnvelope(frame.AsSpan(0, length), out ChannelBinary? partial);
            Assert.Equal(length >= header, decoded);
            if (decoded)
            {
                Assert.Equal(offset, partial!.Offset);
                Assert.Equal(payload.AsSpan(0, length - header).ToArray(), partial.Payload);
            }
        }
        Assert.True(HostProtocol.TryDecodeChannelEnvelope(frame, out ChannelBinary? message));
        Assert.Equal(("c", "b", offset), (message!.Channel, message.From, message.Offset));
        Assert.Equal(payload, message.Payload);
    }

    [Fact]
    public async Task The_position_follows_messages_and_subscribed_and_is_sent_on_every_resubscribe()
    {
        var script = new ScriptedServer();
        await using TestServer server = await TestServer.StartAsync(script);
        await using var client = new EngineClient(new EngineClientOptions
        {
            Uri = server.Uri,
            BaseDelay = TimeSpan.FromMilliseconds(20),
            HeartbeatInterval = TimeSpan.Zero,
        });
        var subscribed = Channel.CreateUnbounded<ChannelSubscribed>();
        client.Subscribed += s => subscribed.Writer.TryWrite(s);
        var offsets = new ConcurrentQueue<long?>();
        client.MessageReceived += m => offsets.Enqueue(m.Offset);
        client.BinaryReceived += m => offsets.Enqueue(m.Offset);
        await client.StartAsync().WaitAsync(Wait);

        // First join: a plain subscribe; the answer gives the position.
        await client.SubscribeAsync("news");
        Assert.Equal("""{"type":"subscribe","channel":"news"}""", await script.NextSubscribeAsync());
        script.Send("""{"type":"subscribed","channel":"news","offset":5,"epoch":"e1"}""");
        ChannelSubscribed first = await subscribed.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(new ChannelSubscribed("news", new HistoryPosition(5, "e1"), null), first);

        // Live messages move it on; one without an offset (the broker was down) does not; nor does another channel's.
        script.Send("""{"type":"message","channel":"news","content":1,"from":"a","offset":6}""");
        script.Send([0x04, 4, .. "news"u8, 1, (byte)'a', 0, 0, 0, 0, 0, 0, 0, 7, 0xFF], binary: true);
        script.Send("""{"type":"message","channel":"news","content":2,"from":"a"}""");
        script.Send("""{"type":"message","channel":"other","content":3,"from":"a","offset":99}""");
        await WaitUntilAsync(() => offsets.Count == 4);
        Assert.Equal([6L, 7L, null, 99L], offsets);
        Assert.Equal(new HistoryPosition(7, "e1"), client.GetPosition("news"));
        Assert.Null(client.GetPosition("other"));

        // Reconnect: resume from there. Replayed messages come first, then `subscribed` with recovered.
        script.Drop();
        Assert.Equal("""{"type":"subscribe","channel":"news","offset":7,"epoch":"e1"}""", await script.NextSubscribeAsync());
        script.Send("""{"type":"message","channel":"news","content":4,"from":"a","offset":8}""");
        script.Send("""{"type":"subscribed","channel":"news","offset":8,"epoch":"e1","recovered":true}""");
        Assert.Equal(new ChannelSubscribed("news", new HistoryPosition(8, "e1"), true), await subscribed.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(new HistoryPosition(8, "e1"), client.GetPosition("news"));

        // Another epoch (the broker's history was wiped): its position replaces ours even though its offset is lower.
        script.Drop();
        Assert.Equal("""{"type":"subscribe","channel":"news","offset":8,"epoch":"e1"}""", await script.NextSubscribeAsync());
        script.Send("""{"type":"subscribed","channel":"news","offset":2,"epoch":"e2","recovered":false}""");
        Assert.Equal(new ChannelSubscribed("news", new HistoryPosition(2, "e2"), false), await subscribed.Reader.ReadAsync().AsTask().WaitAsync(Wait));

        // The broker was down when it re-subscribed: no position in the answer, so the last one is kept for next time.
        script.Drop();
        Assert.Equal("""{"type":"subscribe","channel":"news","offset":2,"epoch":"e2"}""", await script.NextSubscribeAsync());
        script.Send("""{"type":"subscribed","channel":"news","recovered":false}""");
        Assert.Equal(new ChannelSubscribed("news", null, false), await subscribed.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(new HistoryPosition(2, "e2"), client.GetPosition("news"));

        // Leaving forgets the position: joining again later starts from now.
        await client.UnsubscribeAsync("news");
        Assert.Null(client.GetPosition("news"));
        await client.SubscribeAsync("news");
        Assert.Equal("""{"type":"subscribe","channel":"news"}""", await script.NextSubscribeAsync());
    }

    [Fact]
    public async Task Without_history_the_resubscribe_is_the_plain_one()
    {
        var script = new ScriptedServer();
        await using TestServer server = await TestServer.StartAsync(script);
        await using var client = new EngineClient(new EngineClientOptions { Uri = server.Uri, BaseDelay = TimeSpan.FromMilliseconds(20), HeartbeatInterval = TimeSpan.Zero });
        var subscribed = Channel.CreateUnbounded<ChannelSubscribed>();
        client.Subscribed += s => subscribed.Writer.TryWrite(s);
        var received = Channel.CreateUnbounded<ChannelMessage>();
        client.MessageReceived += m => received.Writer.TryWrite(m);
        await client.StartAsync().WaitAsync(Wait);
        await client.SubscribeAsync("news");
        Assert.Equal("""{"type":"subscribe","channel":"news"}""", await script.NextSubscribeAsync());
        script.Send("""{"type":"subscribed","channel":"news"}""");
        Assert.Equal(new ChannelSubscribed("news", null, null), await subscribed.Reader.ReadAsync().AsTask().WaitAsync(Wait));
        script.Send("""{"type":"message","channel":"news","content":1,"from":"a"}""");
        Assert.Null((await received.Reader.ReadAsync().AsTask().WaitAsync(Wait)).Offset);
        script.Drop();
        Assert.Equal("""{"type":"subscribe","channel":"news"}""", await script.NextSubscribeAsync());
        Assert.Null(client.GetPosition("news"));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    /// <summary>Says <c>connected</c>, hands the client's subscribes to the test, and sends what the test says to the latest connection.</summary>
    private sealed class ScriptedServer : IWebSocketHandler
    {
        private readonly Channel<string> _subscribes = Channel.CreateUnbounded<string>();
        private volatile WebSocketConnection? _current;

        public void OnOpen(WebSocketConnection connection)
        {
            _current = connection;
            connection.Send("""{"type":"connected","id":"1"}"""u8, MessageType.Text);
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
            using JsonDocument message = JsonDocument.Parse(payload.ToArray());
            if (message.RootElement.GetProperty("type").GetString() == "subscribe")
            {
                _subscribes.Writer.TryWrite(Encoding.UTF8.GetString(payload));
            }
        }

        public async Task<string> NextSubscribeAsync() => await _subscribes.Reader.ReadAsync().AsTask().WaitAsync(Wait);

        public void Send(string json) => Send(Encoding.UTF8.GetBytes(json), binary: false);

        public void Send(byte[] data, bool binary) => Assert.Equal(SendStatus.Queued, _current!.Send(data, binary ? MessageType.Binary : MessageType.Text));

        /// <summary>Drops the TCP connection: the client sees an unexpected close and reconnects.</summary>
        public void Drop() => _current!.Abort();
    }
}
