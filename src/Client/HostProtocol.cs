using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Engine.Client;

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
