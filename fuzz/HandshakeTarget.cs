using System.Buffers;
using Engine.Protocol;

namespace Engine.Fuzz;

/// <summary>
/// Fuzz target (b): the HTTP request head parser and the RFC 6455 §4.2.1 handshake checks.
/// Input layout: byte 0 chooses the head size limit (0-127: 8192; else 64 + 4 per step above 127), byte 1 the
/// longest read for the session pass, then the request bytes.
/// Invariants: no exception; NeedMoreData exactly while no blank line has arrived within the limit; errors are 400
/// or 431; a parsed head lies inside the input, ends at the first blank line, has a token method, an HTTP/d.d version
/// and trimmed, CR/LF/NUL-free header values; parsing the head alone gives the same head; an accepted upgrade has a
/// valid key; and a session fed the same bytes answers exactly the status the parser and validator decided.
/// </summary>
internal static class HandshakeTarget
{
    public const int HeaderLength = 2;

    public static void Run(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength)
        {
            return;
        }
        int maxHead = data[0] < 128 ? 8192 : 64 + (4 * (data[0] - 127));
        int maxPiece = data[1];
        ReadOnlySpan<byte> input = data[HeaderLength..];

        HttpRequestHead head = default;
        OperationStatus status = HttpRequestParser.TryParse(input, maxHead, ref head, out int errorStatus);
        int blankLine = input.IndexOf("\r\n\r\n"u8);
        int expected;
        switch (status)
        {
            case OperationStatus.NeedMoreData:
                FuzzInvariantException.Check(blankLine < 0 && input.Length < maxHead, "NeedMoreData with a whole head or at the limit");
                FuzzInvariantException.Check(errorStatus == 0, "NeedMoreData with an error status");
                return; // the session would wait for more bytes: nothing to compare
            case OperationStatus.InvalidData:
                FuzzInvariantException.Check(errorStatus is 400 or 431, $"error status {errorStatus}");
                FuzzInvariantException.Check(errorStatus == 431 || (blankLine >= 0 && blankLine + 4 <= maxHead), "400 for a head that was over the limit or not complete");
                FuzzInvariantException.Check(errorStatus == 400 || blankLine < 0 || blankLine + 4 > maxHead || head.HeaderCount == HttpRequestHead.MaxHeaders,
                    "431 for a head within the limit");
                expected = errorStatus;
                break;
            case OperationStatus.Done:
                FuzzInvariantException.Check(errorStatus == 0, "Done with an error status");
                CheckHead(input, head, blankLine, maxHead);
                expected = Validate(input, head);
                break;
            default:
                throw new FuzzInvariantException($"status {status}");
        }

        // The same bytes through a session, in one read and cut into pieces: it must answer what was decided above.
        foreach (int piece in maxPiece == 0 ? [0] : new[] { 0, maxPiece })
        {
            SessionRun run = SessionRun.Execute(input.ToArray(), SessionOptions.Raw, piece, seed: (uint)input.Length, maxRequestHeadSize: maxHead);
            ServerOutput output = ServerOutput.Parse(run.Sent);
            FuzzInvariantException.Check(output.Status == expected, $"the session answered {output.Status}, the parser decided {expected}");
        }
    }

    private static void CheckHead(ReadOnlySpan<byte> input, in HttpRequestHead head, int blankLine, int maxHead)
    {
        FuzzInvariantException.Check(head.Length == blankLine + 4 && head.Length <= maxHead, $"head length {head.Length}, blank line at {blankLine}");
        ReadOnlySpan<byte> bytes = input[..head.Length];
        CheckSlice(head.Method, head.Length, "method");
        CheckSlice(head.Target, head.Length, "target");
        CheckSlice(head.Version, head.Length, "version");
        FuzzInvariantException.Check(head.Method.Length > 0 && HttpTokens.IsToken(head.Method.Of(bytes)), "the method is not a token");
        FuzzInvariantException.Check(head.Target.Length > 0 && head.Target.Of(bytes).IndexOfAnyInRange((byte)0, (byte)0x20) < 0, "a target with spaces or controls");
        ReadOnlySpan<byte> version = head.Version.Of(bytes);
        FuzzInvariantException.Check(version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5]) && version[6] == '.'
            && char.IsAsciiDigit((char)version[7]), "a version that is not HTTP/d.d");
        FuzzInvariantException.Check(head.HeaderCount is >= 0 and <= HttpRequestHead.MaxHeaders, $"{head.HeaderCount} headers");
        int previousEnd = head.Version.Start + head.Version.Length;
        for (int i = 0; i < head.HeaderCount; i++)
        {
            HeaderField field = head.Headers[i];
            CheckSlice(field.Name, head.Length, "header name");
            CheckSlice(field.Value, head.Length, "header value");
            FuzzInvariantException.Check(field.Name.Start > previousEnd, "header fields out of order");
            FuzzInvariantException.Check(field.Name.Length > 0 && HttpTokens.IsToken(field.Name.Of(bytes)), "a header name that is not a token");
            ReadOnlySpan<byte> value = field.Value.Of(bytes);
            FuzzInvariantException.Check(value.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) < 0, "CR, LF or NUL in a header value");
            FuzzInvariantException.Check(value.IsEmpty || (value[0] is not ((byte)' ' or (byte)'\t') && value[^1] is not ((byte)' ' or (byte)'\t')),
                "a header value with surrounding whitespace");
            previousEnd = field.Value.Start + field.Value.Length;
        }

        // The head alone parses to the same head; one byte less needs more data.
        HttpRequestHead again = default;
        FuzzInvariantException.Check(HttpRequestParser.TryParse(bytes, maxHead, ref again, out _) == OperationStatus.Done
            && again.Length == head.Length && again.HeaderCount == head.HeaderCount && again.Method == head.Method && again.Target == head.Target,
            "the head alone parses differently");
        HttpRequestHead shorter = default;
        FuzzInvariantException.Check(HttpRequestParser.TryParse(bytes[..^1], maxHead, ref shorter, out _) == OperationStatus.NeedMoreData,
            "a head without its last byte did not need more data");
    }

    private static int Validate(ReadOnlySpan<byte> input, in HttpRequestHead head)
    {
        HandshakeKind kind = HandshakeValidator.Validate(input, head, out Slice key, out int status);
        switch (kind)
        {
            case HandshakeKind.Upgrade:
                FuzzInvariantException.Check(status == 101, $"upgrade with status {status}");
                CheckSlice(key, head.Length, "key");
                FuzzInvariantException.Check(AcceptKey.IsValidKey(key.Of(input)), "an upgrade with an invalid key");
                FuzzInvariantException.Check(head.Method.Of(input).SequenceEqual("GET"u8) && head.Version.Of(input).SequenceEqual("HTTP/1.1"u8),
                    "an upgrade that is not GET HTTP/1.1");
                Span<byte> accept = stackalloc byte[AcceptKey.Length];
                AcceptKey.Compute(key.Of(input), accept);
                return 101;
            case HandshakeKind.Rejected:
                FuzzInvariantException.Check(status is 400 or 405 or 426 or 505, $"rejected with status {status}");
                return status;
            case HandshakeKind.PlainHttp:
                FuzzInvariantException.Check(status == 0, $"plain HTTP with status {status}");
                return 426; // the fuzz host has no HTTP handler: the engine answers 426 Upgrade Required
            default:
                throw new FuzzInvariantException($"handshake kind {kind}");
        }
    }

    private static void CheckSlice(Slice slice, int length, string what) =>
        FuzzInvariantException.Check(slice.Start >= 0 && slice.Length >= 0 && slice.Start + slice.Length <= length, $"the {what} slice lies outside the head");
}
