using System.Buffers.Text;
using System.Security.Cryptography;

namespace Engine.Protocol;

/// <summary>RFC 6455 §4.2.2 Sec-WebSocket-Accept: base64(SHA-1(key + GUID)). Stack only, no allocation.</summary>
internal static class AcceptKey
{
    /// <summary>Length of the base64 accept value.</summary>
    public const int Length = 28;

    private static ReadOnlySpan<byte> Guid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>Whether a Sec-WebSocket-Key value is base64 of exactly 16 bytes (§4.1), which is 24 characters.</summary>
    public static bool IsValidKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != 24)
        {
            return false;
        }
        Span<byte> decoded = stackalloc byte[18];
        return Base64.DecodeFromUtf8(key, decoded, out _, out int written) == System.Buffers.OperationStatus.Done && written == 16;
    }

    /// <summary>Writes the 28-byte accept value for <paramref name="key"/> into <paramref name="destination"/>.</summary>
    public static void Compute(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[24 + 36];
        key.CopyTo(input);
        Guid.CopyTo(input.Slice(key.Length));
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input.Slice(0, key.Length + Guid.Length), hash);
        Base64.EncodeToUtf8(hash, destination, out _, out _);
    }
}
