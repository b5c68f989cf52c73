using System.Buffers;
using Engine.Buffers;
using Engine.Compression;
using Engine.Protocol;

namespace Engine.Session;

/// <summary>
/// Frames a message once for many connections (pub/sub fan-out): the result is queued by reference to every recipient
/// (<see cref="WebSocketSession.SendShared"/>). The caller holds the first reference and releases it when done.
/// </summary>
internal static class SharedFrames
{
    /// <summary>One unmasked server frame of <paramref name="payload"/> (<paramref name="rsv"/>: RSV1 for a compressed payload).</summary>
    public static SharedBuffer Frame(Opcode opcode, ReadOnlySpan<byte> payload, SharedBufferPool buffers, byte rsv = 0)
    {
        int headerLength = FrameWriter.HeaderLength(payload.Length, masked: false);
        SharedBuffer frame = buffers.Rent(headerLength + payload.Length);
        Span<byte> span = frame.Span;
        FrameWriter.WriteHeader(span, opcode, fin: true, payload.Length, rsv);
        payload.CopyTo(span.Slice(headerLength));
        return frame;
    }

    /// <summary>
    /// One compressed frame (RSV1) of <paramref name="payload"/>, from a pooled deflater that keeps no context: what every
    /// recipient that agreed server_no_context_takeover at the server's window size can take. Null at the compression cap.
    /// </summary>
    public static SharedBuffer? FrameCompressed(SessionCompression compression, Opcode opcode, ReadOnlySpan<byte> payload,
        SharedBufferPool buffers)
    {
        if (!compression.Pool.TryCompressAlone(payload, compression.Config.ServerMaxWindowBits, out byte[] buffer, out int length))
        {
            return null;
        }
        try
        {
            return Frame(opcode, buffer.AsSpan(0, length), buffers, FrameRules.Rsv1);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
