using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Bench.Codec;

/// <summary>
/// Writes client-to-server frames. RFC 6455 §5.3: a client masks every frame it sends, with a fresh 32-bit key.
/// Pure: spans in, byte count out; no I/O, no allocation.
/// </summary>
internal static class ClientFrameWriter
{
    public const byte OpText = 0x1;
    public const byte OpBinary = 0x2;
    public const byte OpClose = 0x8;

    /// <summary>Largest header a client frame can have: 2 + 8 (length) + 4 (mask).</summary>
    public const int MaxHeader = 14;

    public static int FrameSize(int payloadLength) => HeaderSize(payloadLength) + payloadLength;

    public static int HeaderSize(int payloadLength) => payloadLength switch
    {
        <= 125 => 6,
        <= ushort.MaxValue => 8,
        _ => 14,
    };

    /// <summary>Writes one final frame carrying <paramref name="payload"/> masked with <paramref name="maskKey"/>; returns bytes written.</summary>
    public static int Write(Span<byte> destination, byte opcode, ReadOnlySpan<byte> payload, uint maskKey)
    {
        var length = payload.Length;
        destination[0] = (byte)(0x80 | opcode);
        int offset;
        // RFC 6455 §5.2: 7-bit length up to 125, 126 + 16-bit, 127 + 64-bit, always the minimal form.
        if (length <= 125)
        {
            destination[1] = (byte)(0x80 | length);
            offset = 2;
        }
        else if (length <= ushort.MaxValue)
        {
            destination[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)length);
            offset = 4;
        }
        else
        {
            destination[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)length);
            offset = 10;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], maskKey);
        offset += 4;
        Mask(payload, destination.Slice(offset, length), maskKey);
        return offset + length;
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> XOR-ed with the key, key byte i applied at offset i mod 4.</summary>
    public static void Mask(ReadOnlySpan<byte> source, Span<byte> destination, uint maskKey)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<byte>.Count)
        {
            // The key bytes are in memory order, so a vector of repeated uints lines up with every 4-byte group.
            var keyVector = Vector.AsVectorByte(new Vector<uint>(maskKey));
            var src = MemoryMarshal.Cast<byte, Vector<byte>>(source);
            var dst = MemoryMarshal.Cast<byte, Vector<byte>>(destination);
            for (var v = 0; v < src.Length; v++)
            {
                dst[v] = src[v] ^ keyVector;
            }
            i = src.Length * Vector<byte>.Count;
        }
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, maskKey);
        for (; i < source.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ key[i & 3]);
        }
    }
}
