namespace Engine.Protocol;

/// <summary>RFC 6455 §4.2.1 checks of an opening handshake, as a pure function over a parsed head.</summary>
internal static class HandshakeValidator
{
    public static HandshakeKind Validate(ReadOnlySpan<byte> buffer, in HttpRequestHead head, out Slice key, out int status)
    {
        key = default;
        status = 0;
        if (!head.HeaderHasToken(buffer, "Upgrade"u8, "websocket"u8))
        {
            return HandshakeKind.PlainHttp;
        }
        status = 400;
        // §4.2.1 (1): "An HTTP/1.1 or higher GET request".
        if (!head.Method.Of(buffer).SequenceEqual("GET"u8))
        {
            status = 405;
            return HandshakeKind.Rejected;
        }
        if (!head.Version.Of(buffer).SequenceEqual("HTTP/1.1"u8))
        {
            status = 505;
            return HandshakeKind.Rejected;
        }
        // §4.2.1 (2): a Host header; RFC 9112 §3.2: exactly one.
        if (head.CountHeader(buffer, "Host"u8) != 1)
        {
            return HandshakeKind.Rejected;
        }
        // §4.2.1 (4): Connection includes the "Upgrade" token.
        if (!head.HeaderHasToken(buffer, "Connection"u8, "Upgrade"u8))
        {
            return HandshakeKind.Rejected;
        }
        // §4.2.1 (6) and §4.2.2: an unsupported version gets 426 with the versions we speak.
        if (!head.TryGetHeader(buffer, "Sec-WebSocket-Version"u8, out ReadOnlySpan<byte> version))
        {
            return HandshakeKind.Rejected;
        }
        if (!version.SequenceEqual("13"u8) || head.CountHeader(buffer, "Sec-WebSocket-Version"u8) != 1)
        {
            status = 426;
            return HandshakeKind.Rejected;
        }
        // §4.2.1 (5): Sec-WebSocket-Key, base64 of 16 bytes, once.
        if (head.CountHeader(buffer, "Sec-WebSocket-Key"u8) != 1 || !head.TryGetHeader(buffer, "Sec-WebSocket-Key"u8, out ReadOnlySpan<byte> keyValue)
            || !AcceptKey.IsValidKey(keyValue))
        {
            return HandshakeKind.Rejected;
        }
        for (int i = 0; i < head.HeaderCount; i++)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(head.Headers[i].Name.Of(buffer), "Sec-WebSocket-Key"u8))
            {
                key = head.Headers[i].Value;
            }
        }
        status = 101;
        return HandshakeKind.Upgrade;
    }

    /// <summary>
    /// The checks of a WebSocket opened over HTTP/2 with an extended CONNECT (RFC 8441 §4-5), as another HTTP server
    /// handed it over: that server has checked the method and <c>:protocol = websocket</c>, and RFC 8441 §5 drops
    /// <c>Upgrade</c>, <c>Connection</c>, <c>Sec-WebSocket-Key</c> and <c>Sec-WebSocket-Accept</c>. What is left is
    /// RFC 6455 §4.2.1 (6): <c>Sec-WebSocket-Version: 13</c>, once (426 otherwise).
    /// </summary>
    public static HandshakeKind ValidateExtendedConnect(ReadOnlySpan<byte> buffer, in HttpRequestHead head, out int status)
    {
        status = 400;
        if (!head.TryGetHeader(buffer, "Sec-WebSocket-Version"u8, out ReadOnlySpan<byte> version))
        {
            return HandshakeKind.Rejected;
        }
        if (!version.SequenceEqual("13"u8) || head.CountHeader(buffer, "Sec-WebSocket-Version"u8) != 1)
        {
            status = 426;
            return HandshakeKind.Rejected;
        }
        status = 101;
        return HandshakeKind.Upgrade;
    }
}
