using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Engine.Tests.Support;

/// <summary>
/// Writes client-to-server frames: the one writer the tests (<see cref="ClientFrames"/>, <see cref="RawClient"/>,
/// the resilience tests' wire peer) and the benchmark clients (bench/Common) share. RFC 6455 §5.3: a client masks
/// every frame it sends with a 32-bit key. Written from the RFC, not with the engine's own FrameWriter or Masking, so a
/// bug there cannot hide itself in the frames the tests feed the engine. Pure: spans in, byte count out; no I/O, no
/// allocation (the benchmark clients write every message through it).
/// </summary>
internal static class ClientFrameWriter
{
    public const byte OpContinuation = 0x0;
    public const byte OpText = 0x1;
    public const byte OpBinary = 0x2;
    public const byte OpClose = 0x8;
    public const byte OpPing = 0x9;
    public const byte OpPong = 0xA;

    /// <summary>Largest header a client frame can have: 2 + 8 (length) + 4 (mask).</summary>
    public const int MaxHeader = 14;

    public static int FrameSize(int payloadLength, bool masked = true) => HeaderSize(payloadLength, masked) + payloadLength;

    public static int HeaderSize(int payloadLength, bool masked = true) => (masked ? 4 : 0) + payloadLength switch
    {
        <= 125 => 2,
        <= ushort.MaxValue => 4,
        _ => 10,
    };

    /// <summary>Writes one final frame carrying <paramref name="payload"/> masked with <paramref name="maskKey"/>; returns bytes written.</summary>
    public static int Write(Span<byte> destination, byte opcode, ReadOnlySpan<byte> payload, uint maskKey) =>
        Write(destination, opcode, payload, maskKey, fin: true, rsv: 0, masked: true);

    /// <summary>
    /// Writes one frame; returns bytes written. <paramref name="rsv"/> is the three RSV bits as a number (4 = RSV1,
    /// the permessage-deflate bit); <paramref name="masked"/> false writes the frame a client must never send (no mask
    /// bit, no key, payload as is). The key goes on the wire in memory order: key byte i masks payload byte i mod 4.
    /// </summary>
    public static int Write(Span<byte> destination, byte opcode, ReadOnlySpan<byte> payload, uint maskKey, bool fin, byte rsv = 0, bool masked = true)
    {
        var length = payload.Length;
        destination[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xF));
        byte maskBit = masked ? (byte)0x80 : (byte)0;
        int offset;
        // RFC 6455 §5.2: 7-bit length up to 125, 126 + 16-bit, 127 + 64-bit, always the minimal form.
        if (length <= 125)
        {
            destination[1] = (byte)(maskBit | length);
            offset = 2;
        }
        else if (length <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)length);
            offset = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)length);
            offset = 10;
        }
        if (!masked)
        {
            payload.CopyTo(destination[offset..]);
            return offset + length;
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
