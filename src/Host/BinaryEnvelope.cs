namespace Host;

/// <summary>
/// The binary envelope of the app protocol (docs/protocol.md, "Binary messages"). Byte 0 is the kind; it doubles as the
/// version: a future layout gets a new kind value rather than a version field.
/// <code>
/// client to server, publish:   [0x01][n][channel: n bytes][payload...]
/// server to client, message:   [0x02][n][channel: n bytes][m][from: m bytes UTF-8][payload...]
/// server to client, file data: [0x03][file bytes...]
/// server to client, message with its history offset:
///                              [0x04][n][channel: n bytes][m][from: m bytes UTF-8][offset: 8 bytes big-endian][payload...]
/// </code>
/// n is 1-128 (a valid channel name), m is 1-255.
/// </summary>
internal static class BinaryEnvelope
{
    public const byte Publish = 0x01;
    public const byte ChannelMessage = 0x02;
    public const byte FileChunk = 0x03;
    public const byte ChannelMessageWithOffset = 0x04;

    /// <summary>Longest <c>from</c> in the envelope (its length is one byte).</summary>
    public const int MaxFromLength = 255;

    /// <summary>Splits a client publish envelope; returns null when well formed, else the error for the client.</summary>
    public static string? TryParsePublish(ReadOnlySpan<byte> message, out ReadOnlySpan<byte> channel, out ReadOnlySpan<byte> payload)
    {
        channel = default;
        payload = default;
        if (message.Length < 2)
        {
            return "binary envelope too short";
        }
        if (message[0] != Publish)
        {
            return "unknown binary envelope kind";
        }
        int length = message[1];
        if (message.Length < 2 + length)
        {
            return "binary envelope channel length exceeds the message";
        }
        channel = message.Slice(2, length);
        payload = message[(2 + length)..];
        return ChannelName.Validate(channel);
    }

    /// <summary>Bytes of the subscriber envelope for a payload of <paramref name="payloadLength"/>.</summary>
    public static int MessageLength(int channelLength, int fromLength, int payloadLength) => 3 + channelLength + fromLength + payloadLength;

    /// <summary>Writes the subscriber envelope into <paramref name="destination"/> (sized by <see cref="MessageLength"/>); returns the bytes written.</summary>
    public static int WriteMessage(Span<byte> destination, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> from, ReadOnlySpan<byte> payload)
    {
        destination[0] = ChannelMessage;
        destination[1] = (byte)channel.Length;
        channel.CopyTo(destination[2..]);
        int at = 2 + channel.Length;
        destination[at++] = (byte)from.Length;
        from.CopyTo(destination[at..]);
        at += from.Length;
        payload.CopyTo(destination[at..]);
        return at + payload.Length;
    }

    /// <summary>Rewrites a kind-0x02 message as kind 0x04 with <paramref name="offset"/> after <c>from</c>; returns the bytes written.</summary>
    public static int WriteWithOffset(ReadOnlySpan<byte> message, long offset, Span<byte> destination)
    {
        int at = 2 + message[1];
        at += 1 + message[at];
        message[..at].CopyTo(destination);
        destination[0] = ChannelMessageWithOffset;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(destination[at..], offset);
        message[at..].CopyTo(destination[(at + 8)..]);
        return message.Length + 8;
    }
}
