using System.Buffers.Binary;
using Engine.Tests.Support;

namespace Bench.Codec;

/// <summary>What the parser reports for each complete message.</summary>
internal interface IFrameSink
{
    /// <summary>A data message ended; <paramref name="head"/> holds up to its first <see cref="FrameParser.HeadCapacity"/> payload bytes (valid only during the call).</summary>
    void OnMessage(ReadOnlySpan<byte> head, long payloadLength);

    /// <summary>The peer sent Close.</summary>
    void OnClose();
}

/// <summary>
/// A push parser for frames arriving at the client: <c>Consume(bytes)</c> with a few bytes of state per connection,
/// partial headers kept in a 14-byte spill. Payloads are skipped, not copied, except the first
/// <see cref="HeadCapacity"/> bytes of each message, which carry the sequence number and send timestamp (raw in the
/// broadcast scenario; inside the JSON of the Host's <c>message</c> in the cross-node benchmark, past its ~50-byte prefix).
/// Masked frames are accepted too, because the raw TCP echo sends our own masked frames straight back.
/// </summary>
internal struct FrameParser
{
    public const int HeadCapacity = 128;

    private long remaining;
    private long messageLength;
    private int headerFill;
    private int headFill;
    private bool fin;
    private bool inControl;
    private HeaderSpill spill;
    private HeadBytes head;

    [System.Runtime.CompilerServices.InlineArray(14)]
    private struct HeaderSpill
    {
        private byte element;
    }

    [System.Runtime.CompilerServices.InlineArray(HeadCapacity)]
    private struct HeadBytes
    {
        private byte element;
    }

    /// <summary>Consumes all of <paramref name="data"/>, calling <paramref name="sink"/> for each complete message; false on a malformed frame.</summary>
    public bool Consume<TSink>(ReadOnlySpan<byte> data, TSink sink) where TSink : IFrameSink
    {
        while (!data.IsEmpty)
        {
            if (remaining > 0)
            {
                var take = (int)Math.Min(remaining, data.Length);
                if (!inControl && headFill < HeadCapacity)
                {
                    var copy = Math.Min(HeadCapacity - headFill, take);
                    data[..copy].CopyTo(((Span<byte>)head)[headFill..]);
                    headFill += copy;
                }
                remaining -= take;
                data = data[take..];
                if (remaining == 0)
                {
                    EndFrame(sink);
                }
                continue;
            }

            // Header: collect into the spill until the full header is present.
            Span<byte> header = spill;
            if (headerFill < 2)
            {
                var need = 2 - headerFill;
                var copy = Math.Min(need, data.Length);
                data[..copy].CopyTo(header[headerFill..]);
                headerFill += copy;
                data = data[copy..];
                if (headerFill < 2)
                {
                    return true;
                }
            }
            var len7 = header[1] & 0x7F;
            var masked = (header[1] & 0x80) != 0;
            var size = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
            if (headerFill < size)
            {
                var copy = Math.Min(size - headerFill, data.Length);
                data[..copy].CopyTo(header[headerFill..]);
                headerFill += copy;
                data = data[copy..];
                if (headerFill < size)
                {
                    return true;
                }
            }
            long length = len7 switch
            {
                126 => BinaryPrimitives.ReadUInt16BigEndian(header[2..]),
                127 => (long)BinaryPrimitives.ReadUInt64BigEndian(header[2..]),
                _ => len7,
            };
            if (length < 0)
            {
                return false;
            }
            fin = (header[0] & 0x80) != 0;
            var op = (byte)(header[0] & 0x0F);
            headerFill = 0;
            inControl = op >= 0x8;
            if (inControl)
            {
                if (op == ClientFrameWriter.OpClose)
                {
                    sink.OnClose();
                }
            }
            else
            {
                if (op != 0)
                {
                    messageLength = 0;
                    headFill = 0;
                }
                messageLength += length;
            }
            remaining = length;
            if (remaining == 0)
            {
                EndFrame(sink);
            }
        }
        return true;
    }

    private void EndFrame<TSink>(TSink sink) where TSink : IFrameSink
    {
        if (!inControl && fin)
        {
            sink.OnMessage(((ReadOnlySpan<byte>)head)[..headFill], messageLength);
            headFill = 0;
            messageLength = 0;
        }
        inControl = false;
    }
}
