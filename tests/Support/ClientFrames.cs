using Engine.Protocol;

namespace Engine.Tests.Support;

/// <summary>Client frames as byte arrays, for tests that feed a session or a socket (written by <see cref="ClientFrameWriter"/>), and the scalar masking reference.</summary>
internal static class ClientFrames
{
    public const uint DefaultKey = 0x3D21FA37; // wire bytes 37 FA 21 3D, the RFC 6455 §5.7 example key

    public static byte[] Frame(Opcode opCode, ReadOnlySpan<byte> payload, bool fin = true, uint maskKey = DefaultKey, byte rsv = 0, bool masked = true)
    {
        byte[] frame = new byte[ClientFrameWriter.FrameSize(payload.Length, masked)];
        ClientFrameWriter.Write(frame, (byte)opCode, payload, maskKey, fin, rsv, masked);
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
