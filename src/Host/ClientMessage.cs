using System.Text.Json;

namespace Host;

/// <summary>
/// A parsed client text message: views into the payload, valid only as long as the payload. String fields are kept as
/// their raw JSON tokens (quotes and escapes included) and decoded only when used, so parsing allocates nothing;
/// <see cref="Content"/> is the raw JSON value, relayed byte for byte, never re-serialized.
/// </summary>
internal ref struct ClientMessage
{
    public ClientMessageType Type;
    public ReadOnlySpan<byte> Token;
    public ReadOnlySpan<byte> Channel;
    public ReadOnlySpan<byte> Name;
    public ReadOnlySpan<byte> Content;

    /// <summary>The <c>offset</c> of a subscribe (the last one the client saw), or -1 when absent.</summary>
    public long Offset;

    /// <summary>The raw <c>epoch</c> string token of a subscribe, or empty.</summary>
    public ReadOnlySpan<byte> Epoch;

    /// <summary>Parses one message; returns null on success or the error text for the client. Never throws.</summary>
    public static string? TryParse(ReadOnlySpan<byte> payload, out ClientMessage message)
    {
        message = default;
        message.Offset = -1;
        ReadOnlySpan<byte> type = default;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "message must be a JSON object";
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    if (!ReadString(ref reader, out Range raw))
                    {
                        return "type must be a string";
                    }
                    type = payload[raw];
                }
                else if (reader.ValueTextEquals("channel"u8))
                {
                    if (!ReadString(ref reader, out Range raw))
                    {
                        return "channel must be a string";
                    }
                    message.Channel = payload[raw];
                }
                else if (reader.ValueTextEquals("token"u8))
                {
                    if (!ReadString(ref reader, out Range raw))
                    {
                        return "token must be a string";
                    }
                    message.Token = payload[raw];
                }
                else if (reader.ValueTextEquals("name"u8))
                {
                    if (!ReadString(ref reader, out Range raw))
                    {
                        return "name must be a string";
                    }
                    message.Name = payload[raw];
                }
                else if (reader.ValueTextEquals("offset"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out message.Offset) || message.Offset < 0)
                    {
                        return "offset must be an integer >= 0";
                    }
                }
                else if (reader.ValueTextEquals("epoch"u8))
                {
                    if (!ReadString(ref reader, out Range raw))
                    {
                        return "epoch must be a string";
                    }
                    message.Epoch = payload[raw];
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip(); // to the matching end of an object or array; a no-op on a primitive
                    message.Content = payload[start..(int)reader.BytesConsumed];
                }
                else
                {
                    // Unknown fields (a client-sent "from", say) are skipped: the server sets what it relays.
                    reader.Read();
                    reader.Skip();
                }
            }
            // The object is complete; anything after it is an error (Read throws on a second value).
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return "invalid JSON";
            }
        }
        catch (JsonException)
        {
            return "invalid JSON";
        }

        if (type.IsEmpty)
        {
            return "missing field: type";
        }
        if (StringEquals(type, "message"u8))
        {
            message.Type = ClientMessageType.Message;
            return message.Channel.IsEmpty ? "missing field: channel"
                : message.Content.IsEmpty ? "missing field: content"
                : null;
        }
        if (StringEquals(type, "subscribe"u8))
        {
            message.Type = ClientMessageType.Subscribe;
            return message.Channel.IsEmpty ? "missing field: channel"
                : (message.Offset >= 0) != !message.Epoch.IsEmpty ? "offset and epoch go together"
                : null;
        }
        if (StringEquals(type, "unsubscribe"u8))
        {
            message.Type = ClientMessageType.Unsubscribe;
            return message.Channel.IsEmpty ? "missing field: channel" : null;
        }
        if (StringEquals(type, "ping"u8))
        {
            message.Type = ClientMessageType.Ping;
            return null;
        }
        if (StringEquals(type, "auth"u8))
        {
            message.Type = ClientMessageType.Auth;
            return message.Token.IsEmpty ? "missing field: token" : null;
        }
        if (StringEquals(type, "request-file"u8))
        {
            message.Type = ClientMessageType.RequestFile;
            return message.Name.IsEmpty ? "missing field: name" : null;
        }
        return "unknown message type";
    }

    /// <summary>Decodes a raw JSON string token (as captured by <see cref="TryParse"/>) to a string.</summary>
    public static string GetString(ReadOnlySpan<byte> rawString)
    {
        var reader = new Utf8JsonReader(rawString);
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>
    /// Unescapes a raw JSON string token into <paramref name="destination"/>; false if it does not fit. Without escapes
    /// (the usual case) this is a plain copy.
    /// </summary>
    public static bool TryGetUtf8(ReadOnlySpan<byte> rawString, Span<byte> destination, out int written)
    {
        var reader = new Utf8JsonReader(rawString);
        reader.Read();
        ReadOnlySpan<byte> value = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            written = value.Length;
            return value.TryCopyTo(destination);
        }
        // Unescaping never makes a string longer, so the escaped length bounds the scratch space.
        written = 0;
        if (value.Length > 1024)
        {
            return false;
        }
        Span<byte> scratch = stackalloc byte[value.Length];
        int length = reader.CopyString(scratch);
        if (!scratch[..length].TryCopyTo(destination))
        {
            return false;
        }
        written = length;
        return true;
    }

    private static bool ReadString(ref Utf8JsonReader reader, out Range raw)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            raw = default;
            return false;
        }
        raw = (int)reader.TokenStartIndex..(int)reader.BytesConsumed;
        return true;
    }

    private static bool StringEquals(ReadOnlySpan<byte> rawString, ReadOnlySpan<byte> expected)
    {
        var reader = new Utf8JsonReader(rawString);
        reader.Read();
        return reader.ValueTextEquals(expected);
    }
}
