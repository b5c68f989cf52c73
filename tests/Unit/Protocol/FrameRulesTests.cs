using Engine.Protocol;

namespace Engine.Tests.Unit.Protocol;

public class FrameRulesTests
{
    // fin, rsv, opcode, masked, length, in a fragmented message, allowed rsv -> error
    [Theory]
    [InlineData(true, 0, 0x1, true, 10L, false, 0, (int)ProtocolError.None)]
    [InlineData(true, 0, 0x2, true, 1L << 40, false, 0, (int)ProtocolError.None)]
    [InlineData(false, 0, 0x1, true, 10L, false, 0, (int)ProtocolError.None)]
    [InlineData(false, 0, 0x0, true, 10L, true, 0, (int)ProtocolError.None)]
    [InlineData(true, 0, 0x0, true, 10L, true, 0, (int)ProtocolError.None)]
    [InlineData(true, 0, 0x9, true, 125L, false, 0, (int)ProtocolError.None)]
    [InlineData(true, 0, 0x9, true, 0L, true, 0, (int)ProtocolError.None)]
    [InlineData(true, 0, 0xA, true, 5L, true, 0, (int)ProtocolError.None)]
    [InlineData(true, 0, 0x8, true, 2L, true, 0, (int)ProtocolError.None)]
    [InlineData(true, 4, 0x1, true, 10L, false, 4, (int)ProtocolError.None)]
    [InlineData(true, 4, 0x1, true, 10L, false, 0, (int)ProtocolError.ReservedBitsSet)]
    [InlineData(true, 2, 0x1, true, 10L, false, 0, (int)ProtocolError.ReservedBitsSet)]
    [InlineData(true, 1, 0x1, true, 10L, false, 0, (int)ProtocolError.ReservedBitsSet)]
    [InlineData(true, 7, 0x9, true, 0L, false, 0, (int)ProtocolError.ReservedBitsSet)]
    [InlineData(true, 2, 0x1, true, 10L, false, 4, (int)ProtocolError.ReservedBitsSet)]
    [InlineData(true, 0, 0x3, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0x4, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0x5, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0x6, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0x7, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0xB, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0xC, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0xD, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0xE, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0xF, true, 0L, false, 0, (int)ProtocolError.UnknownOpCode)]
    [InlineData(true, 0, 0x1, false, 10L, false, 0, (int)ProtocolError.UnmaskedFrame)]
    [InlineData(true, 0, 0x9, false, 0L, false, 0, (int)ProtocolError.UnmaskedFrame)]
    [InlineData(true, 0, 0x9, true, 126L, false, 0, (int)ProtocolError.ControlFrameTooLong)]
    [InlineData(true, 0, 0x8, true, 126L, false, 0, (int)ProtocolError.ControlFrameTooLong)]
    [InlineData(true, 0, 0xA, true, 65536L, false, 0, (int)ProtocolError.ControlFrameTooLong)]
    [InlineData(false, 0, 0x9, true, 0L, false, 0, (int)ProtocolError.ControlFrameFragmented)]
    [InlineData(false, 0, 0x8, true, 2L, false, 0, (int)ProtocolError.ControlFrameFragmented)]
    [InlineData(false, 0, 0xA, true, 0L, true, 0, (int)ProtocolError.ControlFrameFragmented)]
    [InlineData(true, 0, 0x0, true, 10L, false, 0, (int)ProtocolError.UnexpectedContinuation)]
    [InlineData(false, 0, 0x0, true, 10L, false, 0, (int)ProtocolError.UnexpectedContinuation)]
    [InlineData(true, 0, 0x1, true, 10L, true, 0, (int)ProtocolError.ExpectedContinuation)]
    [InlineData(false, 0, 0x2, true, 10L, true, 0, (int)ProtocolError.ExpectedContinuation)]
    public void Checks_each_rule(bool fin, int rsv, int opCode, bool masked, long length, bool inMessage, int allowedRsv, int expected)
    {
        var header = new FrameHeader
        {
            Fin = fin,
            Rsv = (byte)rsv,
            Opcode = (Opcode)opCode,
            Masked = masked,
            PayloadLength = length,
            HeaderLength = 2,
        };
        Assert.Equal((ProtocolError)expected, FrameRules.Check(header, inMessage, (byte)allowedRsv));
    }

    [Theory]
    [InlineData((int)ProtocolError.None, CloseCode.NormalClosure)]
    [InlineData((int)ProtocolError.ReservedBitsSet, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.UnknownOpCode, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.UnmaskedFrame, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.ControlFrameTooLong, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.ControlFrameFragmented, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.UnexpectedContinuation, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.ExpectedContinuation, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.InvalidLength, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.InvalidCloseLength, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.InvalidCloseCode, CloseCode.ProtocolError)]
    [InlineData((int)ProtocolError.InvalidUtf8, CloseCode.InvalidPayloadData)]
    [InlineData((int)ProtocolError.InvalidCloseReason, CloseCode.InvalidPayloadData)]
    [InlineData((int)ProtocolError.MessageTooBig, CloseCode.MessageTooBig)]
    public void Maps_each_error_to_its_close_code(int error, CloseCode expected)
    {
        Assert.Equal(expected, ((ProtocolError)error).ToCloseCode());
        Assert.True(CloseCodes.IsSendable(expected));
    }

    [Fact]
    public void The_mapping_table_covers_every_error_with_a_short_ascii_reason()
    {
        Assert.Equal(1002, (int)ProtocolError.ReservedBitsSet.ToCloseCode());
        Assert.Equal(1007, (int)ProtocolError.InvalidUtf8.ToCloseCode());
        Assert.Equal(1009, (int)ProtocolError.MessageTooBig.ToCloseCode());
        foreach (ProtocolError error in Enum.GetValues<ProtocolError>())
        {
            if (error == ProtocolError.None)
            {
                continue;
            }
            string reason = error.Describe();
            Assert.NotEqual("", reason);
            Assert.True(reason.Length <= 123, reason);
            Assert.True(System.Text.Ascii.IsValid(reason), reason);
            Assert.True(CloseCodes.IsSendable(error.ToCloseCode()));
        }
    }
}
