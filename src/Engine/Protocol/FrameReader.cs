using System.Buffers;
using System.Buffers.Binary;

namespace Engine.Protocol;

/// <summary>Decodes frame headers from bytes. No I/O, no state, no allocation.</summary>
internal static class FrameReader
{
    /// <summary>The longest header: 2 bytes, 8 bytes of extended length, 4 bytes of mask.</summary>
    public const int MaxHeaderLength = 14;

    /// <summary>
    /// Reads one frame header from the start of <paramref name="input"/>.
    /// Returns <see cref="OperationStatus.NeedMoreData"/> when the header is not complete yet,
    /// <see cref="OperationStatus.InvalidData"/> when the length is not encodable (64-bit with the top bit set).
    /// The semantic rules (masking, opcodes, fragmentation) are checked by <see cref="FrameRules"/>.
    /// </summary>
    public static OperationStatus TryReadHeader(ReadOnlySpan<byte> input, out FrameHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (input.Length < 2)
        {
            return OperationStatus.NeedMoreData;
        }

        byte b0 = input[0];
        byte b1 = input[1];
        bool masked = (b1 & 0x80) != 0;
        int length7 = b1 & 0x7F;
        int needed = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0);
        if (input.Length < needed)
        {
            return OperationStatus.NeedMoreData;
        }

        long length = length7;
        int offset = 2;
        if (length7 == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(input.Slice(2));
            offset = 4;
        }
        else if (length7 == 127)
        {
            ulong wide = BinaryPrimitives.ReadUInt64BigEndian(input.Slice(2));
            // RFC 6455 §5.2: "the most significant bit MUST be 0".
            if ((wide & 0x8000_0000_0000_0000UL) != 0)
            {
                return OperationStatus.InvalidData;
            }
            length = (long)wide;
            offset = 10;
        }

        header.Fin = (b0 & 0x80) != 0;
        header.Rsv = (byte)((b0 >> 4) & 0x7);
        header.Opcode = (Opcode)(b0 & 0x0F);
        header.Masked = masked;
        header.PayloadLength = length;
        if (masked)
        {
            header.MaskKey = BitConverter.ToUInt32(input.Slice(offset, 4));
            offset += 4;
        }
        header.HeaderLength = offset;
        consumed = offset;
        return OperationStatus.Done;
    }
}
