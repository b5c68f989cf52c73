using System.Buffers.Binary;

namespace Engine.Protocol;

/// <summary>Encodes frame headers into spans. No I/O, no allocation.</summary>
internal static class FrameWriter
{
    /// <summary>The header length for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int HeaderLength(long payloadLength, bool masked) =>
        (payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    /// <summary>Writes a server (unmasked) header; returns its length. <paramref name="destination"/> must hold <see cref="HeaderLength"/> bytes.</summary>
    public static int WriteHeader(Span<byte> destination, Opcode opCode, bool fin, long payloadLength, byte rsv = 0) =>
        Write(destination, opCode, fin, payloadLength, rsv, masked: false, maskKey: 0);

    /// <summary>Writes a client (masked) header with the given key; returns its length.</summary>
    public static int WriteMaskedHeader(Span<byte> destination, Opcode opCode, bool fin, long payloadLength, uint maskKey, byte rsv = 0) =>
        Write(destination, opCode, fin, payloadLength, rsv, masked: true, maskKey);

    private static int Write(Span<byte> destination, Opcode opCode, bool fin, long payloadLength, byte rsv, bool masked, uint maskKey)
    {
        destination[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (byte)opCode);
        byte maskBit = masked ? (byte)0x80 : (byte)0;
        int offset;
        if (payloadLength < 126)
        {
            destination[1] = (byte)(maskBit | (byte)payloadLength);
            offset = 2;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), (ushort)payloadLength);
            offset = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(2), (ulong)payloadLength);
            offset = 10;
        }
        if (masked)
        {
            BitConverter.TryWriteBytes(destination.Slice(offset), maskKey);
            offset += 4;
        }
        return offset;
    }
}
