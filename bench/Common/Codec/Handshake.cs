using System.Security.Cryptography;
using System.Text;

namespace Bench.Codec;

/// <summary>The client side of the RFC 6455 §4.1 opening handshake: the request bytes and a check of the 101 response.</summary>
internal static class Handshake
{
    /// <summary>The upgrade request for <paramref name="path"/> with a fresh 16-byte nonce; also returns the Sec-WebSocket-Accept we expect.</summary>
    public static byte[] BuildRequest(string host, int port, string path, out string expectedAccept)
    {
        Span<byte> nonce = stackalloc byte[16];
        RandomNumberGenerator.Fill(nonce);
        var key = Convert.ToBase64String(nonce);
        // RFC 6455 §4.2.2: accept = base64(SHA-1(key + GUID)).
        expectedAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        return Encoding.ASCII.GetBytes(
            $"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");
    }

    /// <summary>Index just past the blank line ending the response head, or -1 if it has not all arrived.</summary>
    public static int FindHeadEnd(ReadOnlySpan<byte> response)
    {
        var i = response.IndexOf("\r\n\r\n"u8);
        return i < 0 ? -1 : i + 4;
    }

    /// <summary>True when the response head is a 101 carrying the expected accept value.</summary>
    public static bool IsAccepted(ReadOnlySpan<byte> head, string expectedAccept, out string error)
    {
        var text = Encoding.ASCII.GetString(head);
        if (!text.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            error = "no 101: " + text.Split('\r')[0];
            return false;
        }
        foreach (var line in text.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
            {
                if (line.AsSpan(colon + 1).Trim().SequenceEqual(expectedAccept))
                {
                    error = "";
                    return true;
                }
                error = "wrong Sec-WebSocket-Accept";
                return false;
            }
        }
        error = "no Sec-WebSocket-Accept";
        return false;
    }
}
