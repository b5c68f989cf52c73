using System.Buffers;

namespace Engine.Protocol;

/// <summary>Parses an HTTP/1.1 request head (RFC 9112 §2-5) in place. No I/O, no allocation.</summary>
internal static class HttpRequestParser
{
    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    /// <summary>
    /// Parses the head at the start of <paramref name="input"/>. <see cref="OperationStatus.NeedMoreData"/> until the
    /// blank line arrives; <see cref="OperationStatus.InvalidData"/> with the HTTP status to answer (400 or 431) otherwise.
    /// </summary>
    public static OperationStatus TryParse(ReadOnlySpan<byte> input, int maxHeadLength, ref HttpRequestHead head, out int errorStatus)
    {
        errorStatus = 0;
        int end = input.IndexOf(HeadEnd);
        if (end < 0)
        {
            if (input.Length >= maxHeadLength)
            {
                errorStatus = 431;
                return OperationStatus.InvalidData;
            }
            return OperationStatus.NeedMoreData;
        }
        if (end + HeadEnd.Length > maxHeadLength)
        {
            errorStatus = 431;
            return OperationStatus.InvalidData;
        }
        head.Length = end + HeadEnd.Length;
        head.HeaderCount = 0;
        errorStatus = 400;

        // Request line: method SP request-target SP HTTP-version (RFC 9112 §3).
        int lineEnd = input.Slice(0, end + 2).IndexOf("\r\n"u8);
        ReadOnlySpan<byte> line = input.Slice(0, lineEnd);
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0)
        {
            return OperationStatus.InvalidData;
        }
        int sp2 = line.Slice(sp1 + 1).IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            return OperationStatus.InvalidData;
        }
        sp2 += sp1 + 1;
        head.Method = new Slice(0, sp1);
        head.Target = new Slice(sp1 + 1, sp2 - sp1 - 1);
        head.Version = new Slice(sp2 + 1, line.Length - sp2 - 1);
        if (!HttpTokens.IsToken(head.Method.Of(input)) || !IsValidTarget(head.Target.Of(input)) || !IsVersion(head.Version.Of(input)))
        {
            return OperationStatus.InvalidData;
        }

        int position = lineEnd + 2;
        while (position < end + 2)
        {
            int length = input.Slice(position).IndexOf("\r\n"u8);
            ReadOnlySpan<byte> field = input.Slice(position, length);
            // RFC 9112 §5.2: obsolete line folding is rejected; §5.1: no whitespace before the colon.
            int colon = field.IndexOf((byte)':');
            if (colon <= 0 || field[0] is (byte)' ' or (byte)'\t' || !HttpTokens.IsToken(field.Slice(0, colon)))
            {
                return OperationStatus.InvalidData;
            }
            ReadOnlySpan<byte> rawValue = field.Slice(colon + 1);
            if (rawValue.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
            {
                return OperationStatus.InvalidData;
            }
            if (head.HeaderCount == HttpRequestHead.MaxHeaders)
            {
                errorStatus = 431;
                return OperationStatus.InvalidData;
            }
            int leading = 0;
            while (leading < rawValue.Length && rawValue[leading] is (byte)' ' or (byte)'\t')
            {
                leading++;
            }
            ReadOnlySpan<byte> value = HttpTokens.TrimWhitespace(rawValue);
            int valueStart = position + colon + 1 + leading;
            head.Headers[head.HeaderCount++] = new HeaderField(new Slice(position, colon), new Slice(valueStart, value.Length));
            position += length + 2;
        }
        errorStatus = 0;
        return OperationStatus.Done;
    }

    private static bool IsValidTarget(ReadOnlySpan<byte> target)
    {
        if (target.IsEmpty)
        {
            return false;
        }
        foreach (byte c in target)
        {
            if (c <= 0x20 || c >= 0x7F)
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsVersion(ReadOnlySpan<byte> version) =>
        version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5])
            && version[6] == (byte)'.' && char.IsAsciiDigit((char)version[7]);
}
