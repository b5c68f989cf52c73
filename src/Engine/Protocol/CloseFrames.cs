using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Engine.Protocol;

/// <summary>Close frame bodies (RFC 6455 §5.5.1): empty, or a 2-byte code and a UTF-8 reason.</summary>
internal static class CloseFrames
{
    /// <summary>Parses a received close body. An empty body reports 1005 (no status).</summary>
    public static ProtocolError TryParse(ReadOnlySpan<byte> body, out CloseCode code, out ReadOnlySpan<byte> reason)
    {
        code = CloseCode.NoStatusReceived;
        reason = default;
        if (body.IsEmpty)
        {
            return ProtocolError.None;
        }
        if (body.Length == 1)
        {
            return ProtocolError.InvalidCloseLength;
        }
        int value = BinaryPrimitives.ReadUInt16BigEndian(body);
        if (!CloseCodes.IsValidOnWire(value))
        {
            return ProtocolError.InvalidCloseCode;
        }
        reason = body.Slice(2);
        // §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection.
        if (!Utf8.IsValid(reason))
        {
            return ProtocolError.InvalidCloseReason;
        }
        code = (CloseCode)value;
        return ProtocolError.None;
    }

    /// <summary>
    /// Writes a close body into <paramref name="destination"/> (at least 125 bytes); returns its length. 1005 writes an
    /// empty body (it means "no code"). The reason is cut to 123 bytes at a character boundary.
    /// </summary>
    public static int WriteBody(Span<byte> destination, CloseCode code, ReadOnlySpan<char> reason)
    {
        if (code == CloseCode.NoStatusReceived)
        {
            return 0;
        }
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)code);
        Span<byte> text = destination.Slice(2, FrameRules.MaxControlPayload - 2);
        int written = 0;
        foreach (Rune rune in reason.EnumerateRunes())
        {
            if (!rune.TryEncodeToUtf8(text.Slice(written), out int bytes))
            {
                break;
            }
            written += bytes;
        }
        return 2 + written;
    }

    /// <summary>Writes a close body whose reason is already UTF-8 bytes (the peer's, echoed or reported).</summary>
    public static int WriteBody(Span<byte> destination, CloseCode code)
    {
        if (code == CloseCode.NoStatusReceived)
        {
            return 0;
        }
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)code);
        return 2;
    }
}
