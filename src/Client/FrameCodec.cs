using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Engine.Client;

/// <summary>The client side of the RFC 6455 framing: masked frames out, unmasked frames in. Pure functions over spans.</summary>
internal static class FrameCodec
{
    /// <summary>The largest header a client frame needs: 2 + 8 (length) + 4 (mask).</summary>
    public const int MaxHeaderLength = 14;

    /// <summary>Writes a final, masked frame with a fresh random key into a new array.</summary>
    public static byte[] EncodeMasked(Opcode opcode, ReadOnlySpan<byte> payload)
    {
        int lengthBytes = payload.Length < 126 ? 0 : payload.Length <= ushort.MaxValue ? 2 : 8;
        byte[] frame = new byte[2 + lengthBytes + 4 + payload.Length];
        frame[0] = (byte)(0x80 | (byte)opcode);
        // RFC 6455 §5.1: a client MUST mask every frame it sends to the server.
        if (lengthBytes == 0)
        {
            frame[1] = (byte)(0x80 | payload.Length);
        }
        else if (lengthBytes == 2)
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }
        else
        {
            frame[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
        }
        Span<byte> key = frame.AsSpan(2 + lengthBytes, 4);
        // RFC 6455 §5.3: the masking key MUST be derived from a strong source of entropy, new for each frame.
        RandomNumberGenerator.Fill(key);
        Span<byte> body = frame.AsSpan(2 + lengthBytes + 4);
        payload.CopyTo(body);
        Mask(body, key);
        return frame;
    }

    /// <summary>XORs <paramref name="data"/> with the 4-byte key, starting at key offset 0.</summary>
    public static void Mask(Span<byte> data, ReadOnlySpan<byte> key)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] ^= key[i & 3];
        }
    }

    /// <summary>
    /// Reads a server frame header. Returns false when more bytes are needed; otherwise the header length in
    /// <paramref name="consumed"/>, or an error description in <paramref name="error"/>.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> input, out bool fin, out Opcode opcode, out long payloadLength, out int consumed, out string? error)
    {
        fin = false;
        opcode = 0;
        payloadLength = 0;
        consumed = 0;
        error = null;
        if (input.Length < 2)
        {
            return false;
        }
        fin = (input[0] & 0x80) != 0;
        opcode = (Opcode)(input[0] & 0x0F);
        bool masked = (input[1] & 0x80) != 0;
        int length7 = input[1] & 0x7F;
        int needed = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0);
        if (input.Length < needed)
        {
            return false;
        }
        consumed = needed;
        payloadLength = length7 switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(input.Slice(2)),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(input.Slice(2)),
            _ => length7,
        };
        if ((input[0] & 0x70) != 0)
        {
            error = "reserved bits set without a negotiated extension"; // RFC 6455 §5.2
        }
        else if (masked)
        {
            error = "masked frame from the server"; // RFC 6455 §5.1: a client MUST close on a masked frame
        }
        else if (opcode is not (Opcode.Continuation or Opcode.Text or Opcode.Binary or Opcode.Close or Opcode.Ping or Opcode.Pong))
        {
            error = "unknown opcode";
        }
        else if ((byte)opcode >= 0x8 && (!fin || payloadLength > 125))
        {
            error = "fragmented or oversized control frame"; // RFC 6455 §5.5
        }
        else if (payloadLength < 0)
        {
            error = "payload length out of range";
        }
        return true;
    }
}
