using Engine.Session;

namespace Engine.Fuzz;

/// <summary>
/// Fuzz target (a): a client byte stream through the real <see cref="WebSocketSession"/>.
/// Input layout: byte 0 = <see cref="SessionOptions"/>, byte 1 = the longest read (0 = everything in one read),
/// bytes 2-3 = the seed that cuts the reads and moves the clock, then the stream (after a valid upgrade request
/// unless <see cref="SessionOptions.Raw"/>).
/// Invariants: no exception; reads consumed within bounds; a well-formed response and well-formed, unmasked server
/// frames with at most one close frame, last, with a valid RFC 6455 code; at most one close reported, with the code sent;
/// whole messages within the limit and text messages valid UTF-8; no pooled buffer outstanding after teardown; and the
/// same messages, close and bytes out whether the stream came in one read or in pieces.
/// </summary>
internal static class SessionTarget
{
    public static readonly byte[] Upgrade =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"u8.ToArray();

    public static readonly byte[] UpgradeDeflate =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"u8.ToArray();

    public const int HeaderLength = 4;

    public static void Run(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength)
        {
            return;
        }
        var options = (SessionOptions)data[0];
        int maxPiece = data[1];
        uint seed = (uint)(data[2] | (data[3] << 8));
        byte[] upgrade = options.HasFlag(SessionOptions.Deflate) ? UpgradeDeflate : Upgrade;
        byte[] input = options.HasFlag(SessionOptions.Raw) ? data[HeaderLength..].ToArray() : [.. upgrade, .. data[HeaderLength..]];

        SessionRun run = SessionRun.Execute(input, options, maxPiece, seed);
        Check(run, options);

        // Timing and application closes depend on where reads end; everything else must not.
        if ((options & (SessionOptions.Clock | SessionOptions.AppClose)) == 0 && maxPiece != 0)
        {
            SessionRun whole = SessionRun.Execute(input, options, maxPiece: 0, seed);
            Check(whole, options);
            Same(whole, run);
        }
    }

    /// <summary>For reproducing a finding: what the split run and the one-read run did with a session input.</summary>
    public static void Show(ReadOnlySpan<byte> data, TextWriter output)
    {
        var options = (SessionOptions)data[0];
        byte[] upgrade = options.HasFlag(SessionOptions.Deflate) ? UpgradeDeflate : Upgrade;
        byte[] input = options.HasFlag(SessionOptions.Raw) ? data[HeaderLength..].ToArray() : [.. upgrade, .. data[HeaderLength..]];
        output.WriteLine($"options {options}, longest read {data[1]}, seed {data[2] | (data[3] << 8)}, stream {Convert.ToHexString(input.AsSpan(options.HasFlag(SessionOptions.Raw) ? 0 : upgrade.Length))}");
        foreach ((string name, int maxPiece) in new[] { ("split", (int)data[1]), ("one read", 0) })
        {
            SessionRun run = SessionRun.Execute(input, options, maxPiece, (uint)(data[2] | (data[3] << 8)));
            output.WriteLine($"{name}: messages [{string.Join(", ", run.Messages.Select(m => $"{m.Type}:{Convert.ToHexString(m.Payload)}"))}], " +
                $"closes [{string.Join(", ", run.Closes.Select(c => $"{(int)c.Code} '{System.Text.Encoding.UTF8.GetString(c.Reason)}'"))}], timeouts [{string.Join(", ", run.Timeouts)}]");
            int head = run.Sent.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
            output.WriteLine($"  sent: {System.Text.Encoding.ASCII.GetString(run.Sent, 0, Math.Max(0, head)).Split("\r\n")[0]} + {Convert.ToHexString(run.Sent.AsSpan(Math.Max(0, head)))}");
        }
    }

    private static void Check(SessionRun run, SessionOptions options)
    {
        ServerOutput output = ServerOutput.Parse(run.Sent);
        FuzzInvariantException.Check(run.Opens == (output.Status == 101 ? 1 : 0), $"{run.Opens} opens with status {output.Status}");
        if (!options.HasFlag(SessionOptions.Raw) && run.Timeouts.Count == 0)
        {
            FuzzInvariantException.Check(output.Status == 101, $"status {output.Status} for a valid upgrade");
        }
        if (output.CloseCode is int sentCode && !options.HasFlag(SessionOptions.AppClose))
        {
            // Either our answer to the peer's close (echoing its code) or our failure code: the one reported to the application.
            FuzzInvariantException.Check(run.Closes.Count == 1, "a close frame sent but no close reported");
            FuzzInvariantException.Check((int)run.Closes[0].Code == sentCode, $"close {sentCode} sent but {(int)run.Closes[0].Code} reported");
        }
        // Every echo the queue accepted reaches the peer, in order, once (inflated first when it went out compressed).
        if (output.Status == 101)
        {
            FuzzInvariantException.Check(output.DataFrames.Count == run.Echoed.Count, $"{output.DataFrames.Count} data frames sent, {run.Echoed.Count} echoes queued");
            for (int i = 0; i < run.Echoed.Count; i++)
            {
                FuzzInvariantException.Check(output.DataFrames[i].Type == run.Echoed[i].Type && output.DataFrames[i].Payload.AsSpan().SequenceEqual(run.Echoed[i].Payload),
                    $"data frame {i} is not the message echoed");
            }
        }
        if (output.Status == 101 && run.Closes.Count == 1 && run.Timeouts.Count == 0)
        {
            FuzzInvariantException.Check(output.CloseCode is not null, "a close reported but no close frame sent");
        }
    }

    private static void Same(SessionRun expected, SessionRun actual)
    {
        FuzzInvariantException.Check(expected.Messages.Count == actual.Messages.Count,
            $"{actual.Messages.Count} messages when split, {expected.Messages.Count} in one read");
        for (int i = 0; i < expected.Messages.Count; i++)
        {
            FuzzInvariantException.Check(expected.Messages[i].Type == actual.Messages[i].Type
                && expected.Messages[i].Payload.AsSpan().SequenceEqual(actual.Messages[i].Payload), $"message {i} differs when split");
        }
        // The close code must not depend on the reads; its reason may: a corrupt compressed text message is reported as
        // "invalid UTF-8" when the inflated part already breaks UTF-8 before zlib reaches the corrupt bytes, and as
        // "invalid compressed data" when zlib sees them first (both 1007; found by afl-fuzz, see FuzzRegressionTests).
        FuzzInvariantException.Check(expected.Closes.Count == actual.Closes.Count
            && (expected.Closes.Count == 0 || expected.Closes[0].Code == actual.Closes[0].Code), "the close code differs when split");
        ServerOutput expectedOutput = ServerOutput.Parse(expected.Sent);
        ServerOutput actualOutput = ServerOutput.Parse(actual.Sent);
        int expectedEnd = expectedOutput.CloseFrameOffset ?? expected.Sent.Length;
        int actualEnd = actualOutput.CloseFrameOffset ?? actual.Sent.Length;
        FuzzInvariantException.Check(expected.Sent.AsSpan(0, expectedEnd).SequenceEqual(actual.Sent.AsSpan(0, actualEnd)), "the bytes sent differ when split");
        FuzzInvariantException.Check(expectedOutput.CloseCode == actualOutput.CloseCode, "the close code sent differs when split");
    }
}
