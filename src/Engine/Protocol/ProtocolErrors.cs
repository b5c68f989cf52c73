namespace Engine.Protocol;

internal static class ProtocolErrors
{
    public static CloseCode ToCloseCode(this ProtocolError error) => error switch
    {
        ProtocolError.InvalidUtf8 or ProtocolError.InvalidCloseReason or ProtocolError.InvalidCompressedData => CloseCode.InvalidPayloadData,
        ProtocolError.MessageTooBig => CloseCode.MessageTooBig,
        ProtocolError.None => CloseCode.NormalClosure,
        _ => CloseCode.ProtocolError,
    };

    /// <summary>A short reason sent in the close frame (ASCII, well under the 123-byte limit).</summary>
    public static string Describe(this ProtocolError error) => error switch
    {
        ProtocolError.ReservedBitsSet => "reserved bits set",
        ProtocolError.UnknownOpCode => "unknown opcode",
        ProtocolError.UnmaskedFrame => "client frames must be masked",
        ProtocolError.ControlFrameTooLong => "control frame too long",
        ProtocolError.ControlFrameFragmented => "fragmented control frame",
        ProtocolError.UnexpectedContinuation => "continuation without a message",
        ProtocolError.ExpectedContinuation => "expected a continuation frame",
        ProtocolError.InvalidLength => "invalid payload length",
        ProtocolError.InvalidUtf8 => "invalid UTF-8",
        ProtocolError.InvalidCloseLength => "invalid close payload",
        ProtocolError.InvalidCloseCode => "invalid close code",
        ProtocolError.InvalidCloseReason => "invalid UTF-8 in close reason",
        ProtocolError.MessageTooBig => "message too big",
        ProtocolError.InvalidCompressedData => "invalid compressed data",
        _ => "",
    };
}
