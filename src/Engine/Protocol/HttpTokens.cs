namespace Engine.Protocol;

/// <summary>RFC 9110 syntax helpers over bytes.</summary>
internal static class HttpTokens
{
    /// <summary>RFC 9110 §5.6.2 tchar.</summary>
    public static bool IsTokenChar(byte c) =>
        c is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    public static bool IsToken(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }
        foreach (byte c in value)
        {
            if (!IsTokenChar(c))
            {
                return false;
            }
        }
        return true;
    }

    public static ReadOnlySpan<byte> TrimWhitespace(ReadOnlySpan<byte> value)
    {
        int start = 0;
        int end = value.Length;
        while (start < end && value[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }
        while (end > start && value[end - 1] is (byte)' ' or (byte)'\t')
        {
            end--;
        }
        return value.Slice(start, end - start);
    }

    /// <summary>Whether a comma-separated list (RFC 9110 §5.6.1) holds <paramref name="token"/>, ASCII case-insensitively.</summary>
    public static bool ListContains(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        while (true)
        {
            int comma = list.IndexOf((byte)',');
            ReadOnlySpan<byte> item = TrimWhitespace(comma < 0 ? list : list.Slice(0, comma));
            if (System.Text.Ascii.EqualsIgnoreCase(item, token))
            {
                return true;
            }
            if (comma < 0)
            {
                return false;
            }
            list = list.Slice(comma + 1);
        }
    }
}
