using System.Buffers;

namespace Engine.Protocol;

/// <summary>Writes HTTP/1.1 response heads into a buffer writer. No I/O.</summary>
internal static class HttpResponseWriter
{
    /// <summary>RFC 6455 §4.2.2 step 5: the 101 response.</summary>
    public static void WriteSwitchingProtocols(IBufferWriter<byte> output, ReadOnlySpan<byte> acceptKey, string? subprotocol, string? extensions)
    {
        Write(output, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "u8);
        Write(output, acceptKey);
        if (subprotocol is not null)
        {
            Write(output, "\r\nSec-WebSocket-Protocol: "u8);
            WriteAscii(output, subprotocol);
        }
        if (extensions is not null)
        {
            Write(output, "\r\nSec-WebSocket-Extensions: "u8);
            WriteAscii(output, extensions);
        }
        Write(output, "\r\n\r\n"u8);
    }

    /// <summary>A complete response with a body; the connection closes after it.</summary>
    public static void WriteResponse(IBufferWriter<byte> output, int status, string contentType, ReadOnlySpan<byte> body,
        IReadOnlyList<KeyValuePair<string, string>>? headers, bool includeBody = true)
    {
        Write(output, "HTTP/1.1 "u8);
        WriteAscii(output, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Write(output, " "u8);
        WriteAscii(output, ReasonPhrase(status));
        Write(output, "\r\nConnection: close\r\nContent-Type: "u8);
        WriteAscii(output, contentType);
        Write(output, "\r\nContent-Length: "u8);
        WriteAscii(output, body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (status == 426)
        {
            // RFC 6455 §4.2.2: tell the client which versions we speak; RFC 9110 §15.5.22: and what to upgrade to.
            Write(output, "\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket"u8);
        }
        else if (status == 405)
        {
            Write(output, "\r\nAllow: GET"u8);
        }
        if (headers is not null)
        {
            foreach (KeyValuePair<string, string> header in headers)
            {
                Write(output, "\r\n"u8);
                WriteAscii(output, header.Key);
                Write(output, ": "u8);
                WriteAscii(output, header.Value);
            }
        }
        Write(output, "\r\n\r\n"u8);
        if (includeBody)
        {
            Write(output, body);
        }
    }

    public static string ReasonPhrase(int status) => status switch
    {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    };

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        // Header values are ASCII; anything else is replaced rather than sent as raw UTF-8 (RFC 9110 §5.5 obs-text).
        Span<byte> span = output.GetSpan(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            span[i] = c is >= ' ' and < (char)0x7F ? (byte)c : (byte)'?';
        }
        output.Advance(text.Length);
    }
}
