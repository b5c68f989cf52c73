using System.Buffers;
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

/// <summary>A <c>message</c> from a channel: <paramref name="Content"/> is the publisher's JSON value, as relayed.</summary>
public sealed record ChannelMessage(string Channel, string From, JsonElement Content);

/// <summary>A binary channel message (envelope kind 0x02).</summary>
public sealed record ChannelBinary(string Channel, string From, byte[] Payload);

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

    /// <summary>Decodes a channel message envelope <c>02 n channel m from payload</c>; false when the frame is not one.</summary>
    public static bool TryDecodeChannelEnvelope(ReadOnlySpan<byte> frame, out ChannelBinary? message)
    {
        message = null;
        if (frame.Length < 2 || frame[0] != 0x02)
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
        message = new ChannelBinary(Encoding.UTF8.GetString(frame.Slice(2, n)), Encoding.UTF8.GetString(frame.Slice(3 + n, m)), frame.Slice(3 + n + m).ToArray());
        return true;
    }
}
