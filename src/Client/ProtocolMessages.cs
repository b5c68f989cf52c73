using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Engine.Client;

/// <summary>The client's state.</summary>
public enum EngineClientState
{
    /// <summary>Not started.</summary>
    Idle,
    /// <summary>TCP connect and handshake.</summary>
    Connecting,
    /// <summary>Open, the token sent, waiting for <c>authenticated</c>.</summary>
    Authenticating,
    /// <summary>Ready: sends go out at once.</summary>
    Open,
    /// <summary>Waiting out the backoff before the next attempt.</summary>
    Reconnecting,
    /// <summary>Closed for good (closed by the caller, 4001, or retries exhausted).</summary>
    Closed,
}

/// <summary>A <c>message</c> from a channel.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="From">The publisher (set by the server).</param>
/// <param name="Content">The publisher's JSON value, as relayed.</param>
/// <param name="Offset">The message's place in the channel's history when the server keeps one; null without history,
/// and for messages delivered while the server's broker was down (they are not in the history).</param>
public sealed record ChannelMessage(string Channel, string From, JsonElement Content, long? Offset = null);

/// <summary>A binary channel message (envelope kind 0x02, or 0x04 with its history <paramref name="Offset"/>).</summary>
public sealed record ChannelBinary(string Channel, string From, byte[] Payload, long? Offset = null);

/// <summary>
/// A place in a channel's history on a server that keeps one: the offset of the last message seen (messages are
/// numbered 1, 2, 3... per channel, 0 is before the first) and the epoch naming that history (a wiped broker starts a
/// new one, whose offsets mean something else).
/// </summary>
public readonly record struct HistoryPosition(long Offset, string Epoch);

/// <summary>A <c>subscribed</c> answer.</summary>
/// <param name="Channel">The channel joined.</param>
/// <param name="Position">Where the live messages continue after (every later message reaches this client); null on a
/// server without history, or when its broker could not be reached.</param>
/// <param name="Recovered">Only for a re-subscribe that resumed from a position (after a reconnect): true when every
/// message missed since that position was delivered (before this answer); false when some are lost (the history no
/// longer reaches back, or it is another epoch): the application should reload the channel's state. Null otherwise.</param>
public sealed record ChannelSubscribed(string Channel, HistoryPosition? Position, bool? Recovered);

/// <summary>The Host protocol's messages and binary envelope (docs/protocol.md), as pure functions.</summary>
public static class HostProtocol
{
    /// <summary>A JSON control message <c>{"type":type, name:value}</c>, UTF-8.</summary>
    public static byte[] Message(string type, string? name = null, string? value = null)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            if (name is not null)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>{"type":"subscribe","channel":channel}</c>, with <c>"offset"</c> and <c>"epoch"</c> to resume after <paramref name="since"/>.</summary>
    public static byte[] Subscribe(string channel, HistoryPosition? since = null)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "subscribe");
            writer.WriteString("channel", channel);
            if (since is { } position)
            {
                writer.WriteNumber("offset", position.Offset);
                writer.WriteString("epoch", position.Epoch);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>{"type":"message","channel":...,"content":contentJson}</c>; <paramref name="contentJson"/> must be one JSON value.</summary>
    public static byte[] Publish(string channel, string contentJson)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + contentJson.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "message");
            writer.WriteString("channel", channel);
            writer.WritePropertyName("content");
            writer.WriteRawValue(contentJson); // validated: one JSON value
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Whether <paramref name="channel"/> is 1-128 bytes of A-Z a-z 0-9 _ . : -</summary>
    public static bool IsValidChannel(string channel)
    {
        if (channel.Length is < 1 or > 128)
        {
            return false;
        }
        foreach (char c in channel)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ':' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The publish envelope: <c>01 n channel payload</c>.</summary>
    public static byte[] EncodeChannelEnvelope(string channel, ReadOnlySpan<byte> payload)
    {
        if (!IsValidChannel(channel))
        {
            throw new ArgumentException($"invalid channel name: {channel}", nameof(channel));
        }
        byte[] frame = new byte[2 + channel.Length + payload.Length];
        frame[0] = 0x01;
        frame[1] = (byte)channel.Length;
        Encoding.ASCII.GetBytes(channel, frame.AsSpan(2));
        payload.CopyTo(frame.AsSpan(2 + channel.Length));
        return frame;
    }

    /// <summary>
    /// Decodes a channel message envelope, <c>02 n channel m from payload</c> or, with its history offset,
    /// <c>04 n channel m from offset(8 bytes, big-endian) payload</c>; false when the frame is not one.
    /// </summary>
    public static bool TryDecodeChannelEnvelope(ReadOnlySpan<byte> frame, out ChannelBinary? message)
    {
        message = null;
        if (frame.Length < 2 || frame[0] is not (0x02 or 0x04))
        {
            return false;
        }
        int n = frame[1];
        if (n < 1 || 3 + n > frame.Length)
        {
            return false;
        }
        int m = frame[2 + n];
        if (m < 1 || 3 + n + m > frame.Length)
        {
            return false;
        }
        int payload = 3 + n + m;
        long? offset = null;
        if (frame[0] == 0x04)
        {
            if (payload + 8 > frame.Length)
            {
                return false;
            }
            offset = BinaryPrimitives.ReadInt64BigEndian(frame.Slice(payload, 8));
            payload += 8;
        }
        message = new ChannelBinary(Encoding.UTF8.GetString(frame.Slice(2, n)), Encoding.UTF8.GetString(frame.Slice(3 + n, m)), frame.Slice(payload).ToArray(), offset);
        return true;
    }
}
