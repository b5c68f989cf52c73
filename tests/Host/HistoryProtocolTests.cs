using System.Text;
using Engine;
using Engine.History;
using Host;

namespace Engine.Tests.HostApp;

/// <summary>The app protocol's history fields: offsets stamped into delivered messages, and resume positions parsed from subscribes.</summary>
public sealed class HistoryProtocolTests
{
    [Fact]
    public void A_text_message_gets_its_offset_as_the_last_member()
    {
        byte[] message = """{"type":"message","channel":"room","content":{"a":[1,2]},"from":"alice"}"""u8.ToArray();
        byte[] destination = new byte[message.Length + ChannelHistory.OffsetStampReserve];
        int written = OffsetStamping.Stamp(message, MessageType.Text, 9_007_199_254_740_993, destination);
        Assert.Equal("""{"type":"message","channel":"room","content":{"a":[1,2]},"from":"alice","offset":9007199254740993}""",
            Encoding.UTF8.GetString(destination, 0, written));
    }

    [Fact]
    public void A_binary_message_becomes_kind_4_with_the_offset_after_from()
    {
        byte[] payload = [0xAA, 0xBB, 0xCC];
        byte[] message = new byte[BinaryEnvelope.MessageLength(3, 2, payload.Length)];
        BinaryEnvelope.WriteMessage(message, "cam"u8, "bo"u8, payload);
        byte[] destination = new byte[message.Length + ChannelHistory.OffsetStampReserve];
        int written = OffsetStamping.Stamp(message, MessageType.Binary, 0x0102030405060708, destination);
        Assert.Equal((byte[])[0x04, 3, (byte)'c', (byte)'a', (byte)'m', 2, (byte)'b', (byte)'o', 1, 2, 3, 4, 5, 6, 7, 8, 0xAA, 0xBB, 0xCC],
            destination[..written]);
    }

    [Fact]
    public void A_subscribe_may_carry_a_resume_position_whose_offset_and_epoch_go_together()
    {
        Assert.Null(ClientMessage.TryParse("""{"type":"subscribe","channel":"room","offset":42,"epoch":"k3x9"}"""u8, out ClientMessage message));
        Assert.Equal(42, message.Offset);
        Assert.Equal("k3x9", ClientMessage.GetString(message.Epoch));

        Assert.Null(ClientMessage.TryParse("""{"type":"subscribe","channel":"room"}"""u8, out ClientMessage plain));
        Assert.Equal(-1, plain.Offset);
        Assert.True(plain.Epoch.IsEmpty);

        Assert.Equal("offset and epoch go together", ClientMessage.TryParse("""{"type":"subscribe","channel":"r","offset":1}"""u8, out _));
        Assert.Equal("offset and epoch go together", ClientMessage.TryParse("""{"type":"subscribe","channel":"r","epoch":"e"}"""u8, out _));
        Assert.Equal("offset must be an integer >= 0", ClientMessage.TryParse("""{"type":"subscribe","channel":"r","offset":-1,"epoch":"e"}"""u8, out _));
        Assert.Equal("offset must be an integer >= 0", ClientMessage.TryParse("""{"type":"subscribe","channel":"r","offset":1.5,"epoch":"e"}"""u8, out _));
        Assert.Equal("offset must be an integer >= 0", ClientMessage.TryParse("""{"type":"subscribe","channel":"r","offset":"1","epoch":"e"}"""u8, out _));
        Assert.Equal("epoch must be a string", ClientMessage.TryParse("""{"type":"subscribe","channel":"r","offset":1,"epoch":7}"""u8, out _));
    }
}
