using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace CrossNode.Client;

/// <summary>What a server-to-client text message is, told from its first bytes.</summary>
internal enum AppMessageType
{
    Other,
    Subscribed,
    Message,
    Error,
}

/// <summary>
/// The few messages of the Host's application protocol (docs/protocol.md) the benchmark writes and reads. A published
/// message's <c>content</c> is a 64-byte JSON string carrying what the receiver needs to time it:
/// <c>"K&lt;sequence, 16 hex&gt;t&lt;send timestamp, 16 hex&gt;xxx…"</c>, K telling the phase (L latency, T throughput, P probe).
/// The Host relays <c>content</c> byte for byte, so the receiver finds it again in the first bytes of the <c>message</c>
/// it gets (<c>{"type":"message","channel":"…","content":"…","from":"…"}</c>, plus <c>"offset"</c> in history mode).
/// </summary>
internal static class AppMessages
{
    /// <summary>Bytes of the content value, quotes included.</summary>
    public const int ContentLength = 64;

    public const byte LatencyKind = (byte)'L';
    public const byte ThroughputKind = (byte)'T';
    public const byte ProbeKind = (byte)'P';

    private static readonly StandardFormat Hex16 = new('x', 16);

    public static byte[] Subscribe(string channel) => Encoding.UTF8.GetBytes($"{{\"type\":\"subscribe\",\"channel\":\"{channel}\"}}");

    /// <summary>A publish to <paramref name="channel"/> up to where the content value starts; see <see cref="WritePublish"/>.</summary>
    public static byte[] PublishPrefix(string channel) => Encoding.UTF8.GetBytes($"{{\"type\":\"message\",\"channel\":\"{channel}\",\"content\":");

    public static int PublishLength(ReadOnlySpan<byte> prefix) => prefix.Length + ContentLength + 1;

    /// <summary>Writes a whole publish (prefix, content, closing brace) into <paramref name="destination"/>; returns its length.</summary>
    public static int WritePublish(Span<byte> destination, ReadOnlySpan<byte> prefix, byte kind, long sequence, long timestamp)
    {
        prefix.CopyTo(destination);
        var content = destination.Slice(prefix.Length, ContentLength);
        content[0] = (byte)'"';
        content[1] = kind;
        Utf8Formatter.TryFormat((ulong)sequence, content.Slice(2, 16), out _, Hex16);
        content[18] = (byte)'t';
        Utf8Formatter.TryFormat((ulong)timestamp, content.Slice(19, 16), out _, Hex16);
        content[35..^1].Fill((byte)'x');
        content[^1] = (byte)'"';
        destination[prefix.Length + ContentLength] = (byte)'}';
        return prefix.Length + ContentLength + 1;
    }

    public static AppMessageType Classify(ReadOnlySpan<byte> head)
    {
        ReadOnlySpan<byte> start = "{\"type\":\""u8;
        if (!head.StartsWith(start))
        {
            return AppMessageType.Other;
        }
        var type = head[start.Length..];
        return type.StartsWith("message\""u8) ? AppMessageType.Message
            : type.StartsWith("subscribed\""u8) ? AppMessageType.Subscribed
            : type.StartsWith("error\""u8) ? AppMessageType.Error
            : AppMessageType.Other;
    }

    /// <summary>Reads kind, sequence and timestamp back out of a received <c>message</c>'s first bytes.</summary>
    public static bool TryReadContent(ReadOnlySpan<byte> head, out byte kind, out long sequence, out long timestamp)
    {
        kind = 0;
        sequence = timestamp = 0;
        ReadOnlySpan<byte> key = "\"content\":\""u8;
        var at = head.IndexOf(key);
        if (at < 0 || head.Length < at + key.Length + 34)
        {
            return false;
        }
        var content = head.Slice(at + key.Length, 34);
        if (!Utf8Parser.TryParse(content.Slice(1, 16), out ulong seq, out var n1, 'x') || n1 != 16 || content[17] != (byte)'t'
            || !Utf8Parser.TryParse(content.Slice(18, 16), out ulong stamp, out var n2, 'x') || n2 != 16)
        {
            return false;
        }
        kind = content[0];
        sequence = (long)seq;
        timestamp = (long)stamp;
        return true;
    }

    /// <summary>True when a <c>subscribed</c> reply carries a stream position (history mode: <c>"offset"</c> and <c>"epoch"</c>).</summary>
    public static bool HasPosition(ReadOnlySpan<byte> head) => head.IndexOf("\"offset\":"u8) >= 0;
}
