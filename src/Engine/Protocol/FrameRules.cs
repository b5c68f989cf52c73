namespace Engine.Protocol;

/// <summary>RFC 6455 §5 rules a server applies to each client frame header, as a pure function over the header and the message state.</summary>
internal static class FrameRules
{
    /// <summary>Largest control-frame payload. RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".</summary>
    public const int MaxControlPayload = 125;

    /// <summary>
    /// RSV1 as it sits in <see cref="FrameHeader.Rsv"/> (RSV1 RSV2 RSV3 = 4 2 1). RFC 7692 §6: set on the first frame of
    /// a message compressed with permessage-deflate, the one extension this server agrees to.
    /// </summary>
    public const byte Rsv1 = 4;

    /// <param name="header">The frame header just read.</param>
    /// <param name="inMessage">Whether a fragmented data message is in progress.</param>
    /// <param name="allowedRsv">RSV bits an extension negotiated (0 without extensions).</param>
    public static ProtocolError Check(in FrameHeader header, bool inMessage, byte allowedRsv)
    {
        // §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values".
        if ((header.Rsv & ~allowedRsv) != 0)
        {
            return ProtocolError.ReservedBitsSet;
        }
        // §5.2: reserved opcodes 3-7 and B-F.
        if (!header.Opcode.IsDefined())
        {
            return ProtocolError.UnknownOpCode;
        }
        // §5.1: "The server MUST close the connection upon receiving a frame that is not masked."
        if (!header.Masked)
        {
            return ProtocolError.UnmaskedFrame;
        }
        if (header.IsControl)
        {
            // §5.5: control frames carry at most 125 bytes and are never fragmented.
            if (header.PayloadLength > MaxControlPayload)
            {
                return ProtocolError.ControlFrameTooLong;
            }
            if (!header.Fin)
            {
                return ProtocolError.ControlFrameFragmented;
            }
            return ProtocolError.None;
        }
        // §5.4: a continuation only continues a started message; a new data frame may not interrupt one.
        if (header.Opcode == Opcode.Continuation)
        {
            return inMessage ? ProtocolError.None : ProtocolError.UnexpectedContinuation;
        }
        return inMessage ? ProtocolError.ExpectedContinuation : ProtocolError.None;
    }
}
