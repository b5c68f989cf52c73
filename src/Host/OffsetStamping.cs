using System.Buffers.Text;
using Engine;
using Engine.History;

namespace Host;

/// <summary>
/// Puts a channel message's history offset where docs/protocol.md says: a last <c>"offset"</c> member in the JSON
/// <c>message</c>, and the binary kind 0x04 (offset after <c>from</c>) for binary channel messages. The Host's
/// <see cref="OffsetStamp"/>; the messages are the ones <see cref="AppHandler"/> published, so their shape is known.
/// </summary>
internal static class OffsetStamping
{
    public static int Stamp(ReadOnlySpan<byte> payload, MessageType type, long offset, Span<byte> destination)
    {
        if (type == MessageType.Binary)
        {
            return BinaryEnvelope.WriteWithOffset(payload, offset, destination);
        }
        // {"type":"message",...,"from":"alice"} -> {"type":"message",...,"from":"alice","offset":42}
        int at = payload.Length - 1;
        payload[..at].CopyTo(destination);
        ",\"offset\":"u8.CopyTo(destination[at..]);
        at += 10;
        Utf8Formatter.TryFormat(offset, destination[at..], out int digits);
        at += digits;
        destination[at++] = (byte)'}';
        return at;
    }
}
