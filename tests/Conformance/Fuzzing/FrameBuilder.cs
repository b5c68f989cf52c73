using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Conformance.Fuzzing;

/// <summary>
/// Encodes client frames exactly as asked, including the illegal ones (reserved bits, reserved opcodes,
/// oversized control frames): the fuzzer must be able to say anything a broken client could.
/// </summary>
// Deliberately not tests/Support's ClientFrameWriter, which the other tests and the benchmarks share: the conformance
// suite grades servers (ours and Kestrel) as an outside client would, so it keeps its own encoder, written from the
// RFC and from Autobahn's cases alone. It must go on building deliberately broken frames (any RSV bits, reserved
// opcodes, fragmented or oversized control frames, Autobahn's cyclic payloads) whatever happens to the shared writer,
// and it must not share code with the engine or its other tests, or a misreading of the RFC could pass everywhere at
// once.
public static class FrameBuilder
{
    /// <summary>
    /// Builds one masked frame. <paramref name="payloadLength"/>, when given, repeats <paramref name="payload"/>
    /// cyclically up to that length (Autobahn's <c>payload_len</c>), so a 16 MiB message needs only a short pattern.
    /// </summary>
    public static byte[] Build(int opcode, ReadOnlySpan<byte> payload, bool fin = true, int rsv = 0, long? payloadLength = null, byte[]? mask = null)
    {
        long length = payloadLength ?? payload.Length;
        int headerLength = 2 + (length <= 125 ? 0 : length <= 0xFFFF ? 2 : 8) + 4;
        var frame = new byte[headerLength + length];
        frame[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0F));
        int offset = 2;
        if (length <= 125)
        {
            frame[1] = (byte)(0x80 | length);
        }
        else if (length <= 0xFFFF)
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)length);
            offset += 2;
        }
        else
        {
            frame[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)length);
            offset += 8;
        }

        // RFC 6455 §5.3: a client masks every frame with a fresh, unpredictable 32-bit key.
        mask ??= RandomNumberGenerator.GetBytes(4);
        mask.CopyTo(frame.AsSpan(offset));
        offset += 4;

        var body = frame.AsSpan(offset);
        if (payload.Length > 0)
        {
            for (int filled = 0; filled < body.Length; filled += payload.Length)
            {
                var n = Math.Min(payload.Length, body.Length - filled);
                payload[..n].CopyTo(body[filled..]);
            }
        }
        for (int i = 0; i < body.Length; i++)
        {
            body[i] ^= mask[i & 3];
        }
        return frame;
    }

    /// <summary>A close payload: optional 2-byte code then optional raw reason bytes (not validated: cases send bad ones on purpose).</summary>
    public static byte[] ClosePayload(int? code, ReadOnlySpan<byte> reason)
    {
        if (code is null)
        {
            return reason.ToArray();
        }
        var payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code.Value);
        reason.CopyTo(payload.AsSpan(2));
        return payload;
    }
}
