namespace Engine.Fuzz;

/// <summary>
/// Fuzz target (c): the Linux transports' receive and send paths, through a real epoll or io_uring loop and a real
/// socket (<see cref="TransportRun"/>), with the fuzzer choosing what the peer and the application do between loop
/// iterations. Input layout: byte 0 = <see cref="TransportOptions"/>, byte 1 = the script's length n, then n script
/// bytes (<see cref="TransportOp"/>), then the stream the peer sends (after a valid upgrade request unless
/// <see cref="TransportOptions.Raw"/>).
/// Invariants: no exception escapes the loop and the connection ends with none but a socket error; the end is reported
/// once; no block, message buffer or kept byte outstanding and the descriptor closed after it; and, since nothing here
/// depends on time, the session sees what one read of the bytes written gives it (<see cref="SessionRun"/>): without
/// application calls the messages and the bytes the peer read are a prefix of that run's, and the same when the run
/// settled with the whole stream written; with them, a settled run's output is still well-formed.
/// </summary>
internal static class TransportTarget
{
    public const int HeaderLength = 2;

    /// <summary>
    /// Runs every seed once before afl-fuzz starts sending inputs: first uses (a slot taken for the first time, a native
    /// send block or a pooled block allocated, a cache filled) would otherwise make an input take paths the first time
    /// in a process that it does not take later, which afl-fuzz counts as instability.
    /// </summary>
    public static void WarmUp()
    {
        if (!Transports.Linux.Native.IsSupported)
        {
            return;
        }
        foreach ((string _, byte[] seed) in TransportSeeds.All())
        {
            Run(seed);
        }
    }

    /// <summary>For reproducing a finding: what a transport input did.</summary>
    public static void Show(ReadOnlySpan<byte> data, TextWriter output)
    {
        (TransportOptions options, byte[] script, byte[] stream) = Parse(data);
        TransportRun run = TransportRun.Execute(options, script, stream);
        output.WriteLine($"options {options}, script {Convert.ToHexString(script)}, stream {stream.Length} bytes, {run.Written} written");
        output.WriteLine($"  messages {run.Messages.Count}, closes [{Codes(run.Closes)}], ended {run.Ends} ({run.EndError?.GetType().Name ?? "orderly"}), " +
            $"peer read {run.Received.Length} bytes, complete {run.Complete}, application acted {run.ApplicationActed}");
    }

    /// <summary>Runs an input (at least <see cref="HeaderLength"/> bytes) through the transport, without the cross-checks of <see cref="Run"/>.</summary>
    public static TransportRun Execute(ReadOnlySpan<byte> data)
    {
        (TransportOptions options, byte[] script, byte[] stream) = Parse(data);
        return TransportRun.Execute(options, script, stream);
    }

    public static void Run(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength || !Transports.Linux.Native.IsSupported)
        {
            return; // elsewhere (Windows, macOS, Linux off x86-64) there are no Linux loops to fuzz
        }
        (TransportOptions options, byte[] script, byte[] stream) = Parse(data);
        TransportRun run = TransportRun.Execute(options, script, stream);
        SessionOptions sessionOptions = TransportRun.SessionOptionsFor(options);
        SessionRun whole = SessionRun.Execute(stream[..run.Written], sessionOptions, maxPiece: 0, seed: 0, TransportRun.MaxRequestHeadSize);
        byte[] received = run.Received;
        byte[] expected = whole.Sent;
        if (run.Complete)
        {
            ServerOutput.Parse(received);
        }
        if (run.ApplicationActed)
        {
            return;
        }
        FuzzInvariantException.Check(run.Messages.Count <= whole.Messages.Count, $"{run.Messages.Count} messages through the transport, {whole.Messages.Count} in one read");
        for (int i = 0; i < run.Messages.Count; i++)
        {
            FuzzInvariantException.Check(run.Messages[i].Type == whole.Messages[i].Type && run.Messages[i].Payload.AsSpan().SequenceEqual(whole.Messages[i].Payload),
                $"message {i} differs from the one-read run's");
        }
        FuzzInvariantException.Check(received.Length <= expected.Length && received.AsSpan().SequenceEqual(expected.AsSpan(0, received.Length)),
            $"the peer read {received.Length} bytes that are not a prefix of the {expected.Length} the one-read run sent");
        if (run.Complete)
        {
            FuzzInvariantException.Check(run.Messages.Count == whole.Messages.Count, $"{run.Messages.Count} messages through the transport, {whole.Messages.Count} in one read");
            FuzzInvariantException.Check(received.Length == expected.Length, $"the peer read {received.Length} bytes, the one-read run sent {expected.Length}");
            FuzzInvariantException.Check(run.Closes.Count == whole.Closes.Count && (run.Closes.Count == 0 || run.Closes[0].Code == whole.Closes[0].Code),
                $"closes [{Codes(run.Closes)}] through the transport, [{Codes(whole.Closes)}] in one read");
        }
    }

    private static string Codes(List<(CloseCode Code, byte[] Reason)> closes) => string.Join(", ", closes.Select(c => (int)c.Code));

    private static (TransportOptions Options, byte[] Script, byte[] Stream) Parse(ReadOnlySpan<byte> data)
    {
        var options = (TransportOptions)data[0];
        if (!TransportLoops.UringSupported)
        {
            options &= ~TransportOptions.Uring;
        }
        int scriptLength = Math.Min(data[1], data.Length - HeaderLength);
        byte[] script = data.Slice(HeaderLength, scriptLength).ToArray();
        ReadOnlySpan<byte> rest = data[(HeaderLength + scriptLength)..];
        return (options, script, options.HasFlag(TransportOptions.Raw) ? rest.ToArray() : [.. SessionTarget.Upgrade, .. rest]);
    }
}
