using System.Text;

namespace Host;

/// <summary>Channel names: 1-128 bytes of <c>[A-Za-z0-9_.:-]</c> (ASCII, so bytes and chars are the same count).</summary>
internal static class ChannelName
{
    /// <summary>Longest channel name in bytes (also fits the one-byte length of the binary envelope).</summary>
    public const int MaxLength = 128;

    /// <summary>Checks a decoded name; returns null when valid, else the error for the client.</summary>
    public static string? Validate(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return "channel name is empty";
        }
        if (name.Length > MaxLength)
        {
            return "channel name is longer than 128 bytes";
        }
        foreach (byte b in name)
        {
            if (!IsAllowed(b))
            {
                return "channel name may only contain A-Z a-z 0-9 _ . : -";
            }
        }
        return null;
    }

    /// <summary>Decodes and validates the raw JSON string token of a <c>channel</c> field into <paramref name="destination"/> (at least <see cref="MaxLength"/> bytes).</summary>
    public static string? Decode(ReadOnlySpan<byte> rawToken, Span<byte> destination, out int length)
    {
        if (!ClientMessage.TryGetUtf8(rawToken, destination, out length))
        {
            return "channel name is longer than 128 bytes";
        }
        return Validate(destination[..length]);
    }

    /// <summary>The name as a string (valid names are ASCII).</summary>
    public static string ToString(ReadOnlySpan<byte> name) => Encoding.ASCII.GetString(name);

    private static bool IsAllowed(byte b) =>
        (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b is (byte)'_' or (byte)'.' or (byte)':' or (byte)'-';
}
