using System.Text;
using System.Text.Unicode;
using Engine.Protocol;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Protocol;

public class CloseFramesTests
{
    [Fact]
    public void An_empty_body_reports_1005()
    {
        Assert.Equal(ProtocolError.None, CloseFrames.TryParse([], out CloseCode code, out ReadOnlySpan<byte> reason));
        Assert.Equal(CloseCode.NoStatusReceived, code);
        Assert.Equal(0, reason.Length);
    }

    [Fact]
    public void A_one_byte_body_is_an_error()
    {
        Assert.Equal(ProtocolError.InvalidCloseLength, CloseFrames.TryParse([0x03], out _, out _));
        Assert.Equal(CloseCode.ProtocolError, ProtocolError.InvalidCloseLength.ToCloseCode());
    }

    private static bool ValidPerRfc(int code) => code is >= 1000 and <= 1003 or >= 1007 and <= 1014 or >= 3000 and <= 4999;

    [Fact]
    public void Every_code_from_0_to_5000_is_valid_or_invalid_per_rfc_6455()
    {
        byte[] body = new byte[2];
        var codes = Enumerable.Range(0, 5001).Concat([65535, 60000, 5001, 9999]);
        int valid = 0;
        foreach (int value in codes)
        {
            body[0] = (byte)(value >> 8);
            body[1] = (byte)value;
            ProtocolError error = CloseFrames.TryParse(body, out CloseCode code, out ReadOnlySpan<byte> reason);
            bool expected = ValidPerRfc(value);
            Assert.True((error == ProtocolError.None) == expected, $"code {value}: {error}");
            Assert.Equal(expected, CloseCodes.IsValidOnWire(value));
            if (expected)
            {
                valid++;
                Assert.Equal(value, (int)code);
                Assert.Equal(0, reason.Length);
            }
            else
            {
                Assert.Equal(ProtocolError.InvalidCloseCode, error);
            }
        }
        Assert.Equal(4 + 8 + 2000, valid);
    }

    [Theory]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1016)]
    [InlineData(2999)]
    [InlineData(999)]
    public void Reserved_codes_are_never_sendable(int code) => Assert.False(CloseCodes.IsSendable((CloseCode)code));

    [Theory]
    [InlineData("03 E8", 1000, "")]
    [InlineData("03 E8 62 79 65", 1000, "bye")]
    [InlineData("0F A0 CE BA E1 BD B9 CF 83 CE BC CE B5", 4000, "\u03BA\u1F79\u03C3\u03BC\u03B5")] // κόσμε as in Autobahn
    [InlineData("03 F3 F0 9F 98 80", 1011, "😀")]
    public void Parses_code_and_reason(string hex, int expectedCode, string expectedReason)
    {
        Assert.Equal(ProtocolError.None, CloseFrames.TryParse(Bytes.Hex(hex), out CloseCode code, out ReadOnlySpan<byte> reason));
        Assert.Equal(expectedCode, (int)code);
        Assert.Equal(expectedReason, Encoding.UTF8.GetString(reason));
    }

    [Theory]
    [InlineData("03 E8 CE")] // truncated
    [InlineData("03 E8 ED A0 80")] // surrogate
    [InlineData("03 E8 C0 80")] // overlong
    [InlineData("03 E8 F4 90 80 80")] // above U+10FFFF
    [InlineData("03 E8 41 FF")]
    public void An_invalid_utf8_reason_is_1007(string hex)
    {
        Assert.Equal(ProtocolError.InvalidCloseReason, CloseFrames.TryParse(Bytes.Hex(hex), out _, out _));
        Assert.Equal(CloseCode.InvalidPayloadData, ProtocolError.InvalidCloseReason.ToCloseCode());
    }

    [Fact]
    public void A_bad_code_wins_over_a_bad_reason()
    {
        Assert.Equal(ProtocolError.InvalidCloseCode, CloseFrames.TryParse(Bytes.Hex("03 ED FF"), out _, out _));
    }

    // reason, expected body length (2 + reason bytes kept)
    [Theory]
    [InlineData("", 2)]
    [InlineData("bye", 5)]
    [InlineData("a123", 6)]
    public void Writes_code_and_reason(string reason, int expectedLength)
    {
        byte[] body = new byte[FrameRules.MaxControlPayload];
        int length = CloseFrames.WriteBody(body, CloseCode.GoingAway, reason);
        Assert.Equal(expectedLength, length);
        Assert.Equal(Bytes.Concat(Bytes.Hex("03 E9"), Bytes.Utf8(reason)), body[..length]);
    }

    public static TheoryData<string, int> LongReasons => new()
    {
        { new string('x', 123), 123 },
        { new string('x', 124), 123 },
        { new string('x', 500), 123 },
        { "a" + string.Concat(Enumerable.Repeat("é", 70)), 123 }, // 1 + 61 × 2
        { string.Concat(Enumerable.Repeat("é", 70)), 122 }, // 61 × 2; the 62nd would need 124
        { string.Concat(Enumerable.Repeat("€", 50)), 123 }, // 41 × 3
        { "aa" + string.Concat(Enumerable.Repeat("€", 50)), 122 }, // 2 + 40 × 3; one byte short of the next
        { string.Concat(Enumerable.Repeat("😀", 40)), 120 }, // 30 × 4; never half a surrogate pair
        { "abc" + string.Concat(Enumerable.Repeat("😀", 40)), 123 },
    };

    [Theory]
    [MemberData(nameof(LongReasons))]
    public void Cuts_long_reasons_to_123_bytes_on_a_character_boundary(string reason, int expectedReasonBytes)
    {
        byte[] body = new byte[FrameRules.MaxControlPayload + 16];
        int length = CloseFrames.WriteBody(body, CloseCode.NormalClosure, reason);
        Assert.Equal(2 + expectedReasonBytes, length);
        Assert.True(length <= FrameRules.MaxControlPayload);
        byte[] written = body[2..length];
        Assert.True(Utf8.IsValid(written));
        Assert.StartsWith(Encoding.UTF8.GetString(written), reason, StringComparison.Ordinal);
        Assert.Equal(0, body[length]); // nothing written past the end
        Assert.Equal(ProtocolError.None, CloseFrames.TryParse(body.AsSpan(0, length), out CloseCode code, out _));
        Assert.Equal(CloseCode.NormalClosure, code);
    }

    [Fact]
    public void Code_1005_writes_an_empty_body()
    {
        byte[] body = new byte[FrameRules.MaxControlPayload];
        Assert.Equal(0, CloseFrames.WriteBody(body, CloseCode.NoStatusReceived, "ignored"));
        Assert.Equal(0, CloseFrames.WriteBody(body, CloseCode.NoStatusReceived));
        Assert.Equal(2, CloseFrames.WriteBody(body, (CloseCode)4321));
        Assert.Equal(Bytes.Hex("10 E1"), body[..2]);
    }
}
