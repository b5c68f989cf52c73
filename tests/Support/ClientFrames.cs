using Engine.Protocol;

namespace Engine.Tests.Support;

/// <summary>Builds frames the way a client sends them: masked with a key, payload masked by a scalar reference loop.</summary>
internal static class ClientFrames
{
    public const uint DefaultKey = 0x3D21FA37; // wire bytes 37 FA 21 3D, the RFC 6455 §5.7 example key

    public static byte[] Frame(Opcode opCode, ReadOnlySpan<byte> payload, bool fin = true, uint maskKey = DefaultKey, byte rsv = 0, bool masked = true)
    {
        byte[] frame = new byte[FrameWriter.HeaderLength(payload.Length, masked) + payload.Length];
        int header = masked
            ? FrameWriter.WriteMaskedHeader(frame, opCode, fin, payload.Length, maskKey, rsv)
            : FrameWriter.WriteHeader(frame, opCode, fin, payload.Length, rsv);
        payload.CopyTo(frame.AsSpan(header));
        if (masked)
        {
            ScalarMask(frame.AsSpan(header), maskKey, 0);
        }
        return frame;
    }

    public static byte[] Text(string text, bool fin = true) => Frame(Opcode.Text, Bytes.Utf8(text), fin);

    public static byte[] Close(ushort code, string reason = "")
    {
        byte[] body = Bytes.Concat([(byte)(code >> 8), (byte)code], Bytes.Utf8(reason));
        return Frame(Opcode.Close, body);
    }

    /// <summary>RFC 6455 §5.3: octet i is XORed with key octet (i MOD 4); the reference the vectorized code is checked against.</summary>
    public static int ScalarMask(Span<byte> data, uint maskKey, int maskOffset)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] ^= (byte)(maskKey >> (8 * ((maskOffset + i) & 3)));
        }
        return (maskOffset + data.Length) & 3;
    }
}
