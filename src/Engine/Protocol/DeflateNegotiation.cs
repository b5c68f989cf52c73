using System.Text;

namespace Engine.Protocol;

/// <summary>
/// The permessage-deflate negotiation of RFC 7692 §5 and §7.1 as pure functions over the <c>Sec-WebSocket-Extensions</c>
/// values: the first acceptable offer wins; an offer with an unknown, repeated or malformed parameter is declined and
/// the next one tried; a header that is not valid extension syntax declines everything (the connection is still opened,
/// without compression). No allocation except the answer string.
/// </summary>
internal static class DeflateNegotiation
{
    public const string ExtensionName = "permessage-deflate";

    private static bool TrySelectOffer(ReadOnlySpan<byte> headerValue, out Offer chosen)
    {
        chosen = default;
        int position = 0;
        while (true)
        {
            SkipListSeparators(headerValue, ref position);
            if (position >= headerValue.Length)
            {
                return false;
            }
            if (!TryReadToken(headerValue, ref position, out ReadOnlySpan<byte> name))
            {
                return false; // not extension syntax: nothing after this point can be trusted
            }
            bool isDeflate = Ascii.EqualsIgnoreCase(name, "permessage-deflate"u8);
            Offer offer = default;
            bool acceptable = isDeflate;
            while (true)
            {
                SkipWhitespace(headerValue, ref position);
                if (position >= headerValue.Length || headerValue[position] == (byte)',')
                {
                    break;
                }
                if (headerValue[position] != (byte)';')
                {
                    return false;
                }
                position++;
                SkipWhitespace(headerValue, ref position);
                if (!TryReadToken(headerValue, ref position, out ReadOnlySpan<byte> parameter))
                {
                    return false;
                }
                SkipWhitespace(headerValue, ref position);
                ReadOnlySpan<byte> value = default;
                bool hasValue = false;
                if (position < headerValue.Length && headerValue[position] == (byte)'=')
                {
                    position++;
                    SkipWhitespace(headerValue, ref position);
                    if (!TryReadValue(headerValue, ref position, out value))
                    {
                        return false;
                    }
                    hasValue = true;
                }
                if (acceptable)
                {
                    acceptable = offer.TryAdd(parameter, hasValue, value);
                }
            }
            if (acceptable)
            {
                chosen = offer;
                return true;
            }
        }
    }

    /// <summary>The <c>Sec-WebSocket-Extensions</c> answer for what was agreed (RFC 7692 §7.1).</summary>
    public static string FormatResponse(in DeflateParameters agreed, bool offeredServerWindow, bool offeredClientWindow)
    {
        var answer = new StringBuilder(ExtensionName, 96);
        if (agreed.ServerNoContextTakeover)
        {
            answer.Append("; server_no_context_takeover");
        }
        if (agreed.ClientNoContextTakeover)
        {
            answer.Append("; client_no_context_takeover");
        }
        if (offeredServerWindow)
        {
            answer.Append("; server_max_window_bits=").Append(agreed.ServerWindowBits);
        }
        if (offeredClientWindow && agreed.ClientWindowBits < 15)
        {
            answer.Append("; client_max_window_bits=").Append(agreed.ClientWindowBits);
        }
        return answer.ToString();
    }

    /// <summary>Negotiates over every value (header lines in order) and formats the answer; null when nothing acceptable was offered.</summary>
    public static string? Negotiate(ReadOnlySpan<byte> buffer, in HttpRequestHead head, in DeflateConfig config, out DeflateParameters agreed)
    {
        for (int i = 0; i < head.HeaderCount; i++)
        {
            HeaderField field = head.Headers[i];
            if (!Ascii.EqualsIgnoreCase(field.Name.Of(buffer), "Sec-WebSocket-Extensions"u8))
            {
                continue;
            }
            if (TrySelectOffer(field.Value.Of(buffer), out Offer offer))
            {
                agreed = Decide(offer, config);
                // §7.1.2.1: server_max_window_bits is answered only when offered; §7.1.2.2: client_max_window_bits likewise.
                return FormatResponse(agreed, offer.ServerMaxWindowBits != 0, offer.ClientMaxWindowBits != 0);
            }
        }
        agreed = default;
        return null;
    }

    private static DeflateParameters Decide(in Offer offer, in DeflateConfig config)
    {
        // §7.1.2.1: we may compress with a smaller window than offered (or than 15 when none was offered) unasked.
        int serverBits = offer.ServerMaxWindowBits != 0 ? Math.Min(offer.ServerMaxWindowBits, config.ServerMaxWindowBits) : config.ServerMaxWindowBits;
        // §7.1.2.2: we may limit the client's window only if it offered client_max_window_bits (with or without a value).
        int clientBits = offer.ClientMaxWindowBits switch
        {
            0 => 15,
            -1 => config.ClientMaxWindowBits,
            int offered => Math.Min(offered, config.ClientMaxWindowBits),
        };
        return new DeflateParameters(
            (byte)serverBits,
            (byte)clientBits,
            // §7.1.1.1 and §7.1.1.2: either parameter may be answered whether or not it was offered.
            offer.ServerNoContextTakeover || config.ServerNoContextTakeover,
            offer.ClientNoContextTakeover || config.ClientNoContextTakeover);
    }

    private static void SkipWhitespace(ReadOnlySpan<byte> value, scoped ref int position)
    {
        while (position < value.Length && value[position] is (byte)' ' or (byte)'\t')
        {
            position++;
        }
    }

    private static void SkipListSeparators(ReadOnlySpan<byte> value, scoped ref int position)
    {
        while (position < value.Length && value[position] is (byte)' ' or (byte)'\t' or (byte)',')
        {
            position++;
        }
    }

    private static bool TryReadToken(ReadOnlySpan<byte> value, scoped ref int position, out ReadOnlySpan<byte> token)
    {
        int start = position;
        while (position < value.Length && HttpTokens.IsTokenChar(value[position]))
        {
            position++;
        }
        token = value.Slice(start, position - start);
        return !token.IsEmpty;
    }

    /// <summary>A parameter value: a token or a quoted-string (RFC 6455 §9.1; RFC 7692 §7.1 allows either for window bits).</summary>
    private static bool TryReadValue(ReadOnlySpan<byte> value, scoped ref int position, out ReadOnlySpan<byte> result)
    {
        result = default;
        if (position >= value.Length)
        {
            return false;
        }
        if (value[position] != (byte)'"')
        {
            return TryReadToken(value, ref position, out result);
        }
        int start = ++position;
        while (position < value.Length && value[position] != (byte)'"')
        {
            if (value[position] == (byte)'\\')
            {
                return false; // escapes never occur in the values we accept; treat as malformed rather than unescape
            }
            position++;
        }
        if (position >= value.Length)
        {
            return false;
        }
        result = value.Slice(start, position - start);
        position++;
        return true;
    }

    /// <summary>The parameters of one offer; <see cref="TryAdd"/> is false for anything that makes RFC 7692 decline it.</summary>
    private struct Offer
    {
        public bool ServerNoContextTakeover;
        public bool ClientNoContextTakeover;
        /// <summary>0 = absent, else 8-15.</summary>
        public int ServerMaxWindowBits;
        /// <summary>0 = absent, -1 = present without a value, else 8-15.</summary>
        public int ClientMaxWindowBits;

        public bool TryAdd(ReadOnlySpan<byte> name, bool hasValue, ReadOnlySpan<byte> value)
        {
            // §7.1: an offer with a repeated parameter, a parameter with an invalid value, or an unknown parameter is declined.
            if (Ascii.EqualsIgnoreCase(name, "server_no_context_takeover"u8))
            {
                if (ServerNoContextTakeover || hasValue)
                {
                    return false;
                }
                ServerNoContextTakeover = true;
                return true;
            }
            if (Ascii.EqualsIgnoreCase(name, "client_no_context_takeover"u8))
            {
                if (ClientNoContextTakeover || hasValue)
                {
                    return false;
                }
                ClientNoContextTakeover = true;
                return true;
            }
            if (Ascii.EqualsIgnoreCase(name, "server_max_window_bits"u8))
            {
                // §7.1.2.1: a value is required.
                if (ServerMaxWindowBits != 0 || !hasValue || !TryParseWindowBits(value, out int bits))
                {
                    return false;
                }
                ServerMaxWindowBits = bits;
                return true;
            }
            if (Ascii.EqualsIgnoreCase(name, "client_max_window_bits"u8))
            {
                // §7.1.2.2: the value is optional.
                if (ClientMaxWindowBits != 0)
                {
                    return false;
                }
                if (!hasValue)
                {
                    ClientMaxWindowBits = -1;
                    return true;
                }
                if (!TryParseWindowBits(value, out int bits))
                {
                    return false;
                }
                ClientMaxWindowBits = bits;
                return true;
            }
            return false;
        }

        /// <summary>§7.1.2: "a decimal integer value without leading zeros between 8 to 15, inclusive".</summary>
        private static bool TryParseWindowBits(ReadOnlySpan<byte> value, out int bits)
        {
            bits = 0;
            if (value.Length == 1 && value[0] is (byte)'8' or (byte)'9')
            {
                bits = value[0] - '0';
                return true;
            }
            if (value.Length == 2 && value[0] == (byte)'1' && value[1] is >= (byte)'0' and <= (byte)'5')
            {
                bits = 10 + value[1] - '0';
                return true;
            }
            return false;
        }
    }
}
