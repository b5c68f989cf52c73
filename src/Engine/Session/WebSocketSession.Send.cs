using System.Buffers;
using Engine.Buffers;
using Engine.Compression;
using Engine.Protocol;

namespace Engine.Session;

// The outgoing side: every frame this connection sends is framed here (compressed here when permessage-deflate is
// agreed) and written to the transport's output, whether it comes from the application, from pub/sub or from the
// protocol itself (pong, ping, close).
internal sealed partial class WebSocketSession
{
    /// <summary>
    /// Frames and queues one message, compressed when deflate is agreed and the message reaches its threshold (at the
    /// server's compression cap it goes out plain). Any thread. <paramref name="limit"/>: the output's send limit.
    /// </summary>
    public EnqueueResult Send(ReadOnlySpan<byte> payload, MessageType type, long limit)
    {
        PerMessageDeflate? deflate = Deflate;
        if (deflate is null || payload.Length < deflate.Threshold)
        {
            return WriteFrame((Opcode)type, payload, limit, final: false);
        }
        // Compressed and queued under the connection's deflate lock: with context takeover, frames must enter the queue
        // in the order their compression context was built.
        lock (deflate)
        {
            if (!deflate.TryCompress(payload, out byte[] compressed, out int length))
            {
                return WriteFrame((Opcode)type, payload, limit, final: false);
            }
            try
            {
                EnqueueResult result = WriteFrame((Opcode)type, compressed.AsSpan(0, length), limit, final: false, FrameRules.Rsv1);
                if (result != EnqueueResult.Queued)
                {
                    deflate.DiscardContext(); // the window holds bytes the peer will never see
                }
                return result;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(compressed);
            }
        }
    }

    /// <summary>Queues a frame framed once for many connections (<see cref="SharedFrames"/>). Any thread; the limit always applies.</summary>
    public EnqueueResult SendShared(SharedBuffer frame, long limit) => _output.TryWrite(frame, limit);

    private EnqueueResult WriteFrame(Opcode opcode, ReadOnlySpan<byte> payload, long limit, bool final, byte rsv = 0)
    {
        // A fixed-size local, not a stackalloc: with a stackalloc the compiler kept the payload span in memory and
        // re-read it with a wider load than it was stored with (a store-forwarding stall, about 2% of the loop thread
        // in the pipelined echo).
        HeaderBytes header = default;
        int headerLength = FrameWriter.WriteHeader(header, opcode, fin: true, payload.Length, rsv);
        return _output.TryWrite(((ReadOnlySpan<byte>)header).Slice(0, headerLength), payload, limit, final);
    }

    [System.Runtime.CompilerServices.InlineArray(FrameReader.MaxHeaderLength)]
    private struct HeaderBytes
    {
        private byte _first;
    }
}
