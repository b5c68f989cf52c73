using Conformance.Cases;
using Conformance.Fuzzing;

namespace Conformance.Running;

/// <summary>Plays catalogue cases against a server, each on its own TCP connection.</summary>
public static class CaseRunner
{
    /// <summary>
    /// Concurrent light cases per agent. They mostly sleep on Autobahn's timers (kill after 0.5-1 s, close after 1-3 s),
    /// so running them side by side costs little; the bound keeps the 0.5 s deadlines of 6.x honest on 2 cores.
    /// </summary>
    public const int DefaultParallelism = 8;

    /// <summary>
    /// Plays a plain echo (case 1.1.2, ungraded) on <see cref="DefaultParallelism"/> connections at once until a round
    /// passes within <see cref="SettledRound"/>, or <see cref="WarmUpLimit"/> has passed. Graded cases carry Autobahn's
    /// 1 s kill timers, and in the xunit suite the first ones start the instant the servers listen: they would otherwise
    /// pay for the cold start of the test process (both sides JIT-compile their whole path on the first connections,
    /// while xunit starts other tests beside them). In one CI run the first five cases lost a second there and failed on
    /// the kill. Measured by this warm-up on a quiet local box: the first round of a cold process took 620 ms, the second
    /// 15 ms (the ASP.NET Core integration's first round, after ours, 118 ms; Kestrel's 54 ms). What the catalogue grades
    /// is the protocol, so graded runs start on a settled process.
    /// </summary>
    public static async Task<WarmUp> WarmUpAsync(Uri url, string agent)
    {
        var plain = Catalogue.Get("1.1.2");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int rounds = 0;
        TimeSpan last;
        bool settled;
        do
        {
            rounds++;
            var round = System.Diagnostics.Stopwatch.StartNew();
            var results = await Task.WhenAll(Enumerable.Range(0, DefaultParallelism).Select(_ => RunOneAsync(url, agent, plain)));
            last = round.Elapsed;
            settled = results.All(r => r.Passed) && last < SettledRound;
        }
        while (!settled && clock.Elapsed < WarmUpLimit);
        return new WarmUp(rounds, clock.Elapsed, last, settled);
    }

    /// <summary>A warm round of 8 echoes takes 15-120 ms here; a quarter of the 1 s kill leaves the graded cases their margin.</summary>
    public static readonly TimeSpan SettledRound = TimeSpan.FromMilliseconds(250);

    // Past this the graded cases run anyway: they then say what is wrong, rather than the warm-up hiding it.
    private static readonly TimeSpan WarmUpLimit = TimeSpan.FromSeconds(30);

    /// <summary>Runs one case and grades it.</summary>
    public static async Task<CaseResult> RunOneAsync(Uri url, string agent, CaseDefinition definition, CancellationToken cancellationToken = default)
    {
        var run = definition.Create();
        var connection = new FuzzingConnection(run);
        await connection.RunAsync(url, definition.HardLimit, cancellationToken);
        var traffic = connection.Traffic;
        return new CaseResult
        {
            Agent = agent,
            Id = definition.Id,
            Description = definition.Description,
            Expectation = definition.Expectation,
            Behavior = run.Behavior,
            BehaviorClose = run.BehaviorClose,
            Result = run.Result,
            ResultClose = run.ResultClose,
            Duration = connection.DurationMs,
            ReportTime = run.ReportTime,
            RemoteCloseCode = connection.RemoteCloseCode,
            RemoteCloseReason = connection.RemoteCloseReason,
            LocalCloseCode = connection.LocalCloseCode,
            ClosedByMe = connection.ClosedByMe,
            FailedByMe = connection.FailedByMe,
            DroppedByMe = connection.DroppedByMe,
            WasClean = connection.WasClean,
            WasNotCleanReason = connection.WasNotCleanReason,
            Expected = run.MessageHandler is null ? run.ExpectedSummary() : "(message type and length checked)",
            Received = run.MessageHandler is null ? run.ReceivedSummary() : "(not recorded)",
            Wire = new WireSummary(traffic.RxOctets, traffic.TxOctets,
                traffic.RxFrames.ToDictionary(kv => OpcodeName(kv.Key), kv => kv.Value),
                traffic.TxFrames.ToDictionary(kv => OpcodeName(kv.Key), kv => kv.Value)),
            WireLog = connection.WireLog.ToList(),
        };
    }

    /// <summary>
    /// Runs the light cases with bounded parallelism, then the exclusive (performance) cases one at a time.
    /// </summary>
    public static async Task<IReadOnlyList<CaseResult>> RunAsync(Uri url, string agent, IEnumerable<CaseDefinition> cases, int parallelism = DefaultParallelism,
        Action<CaseResult>? onResult = null, CancellationToken cancellationToken = default)
    {
        var list = cases.ToList();
        var results = new List<CaseResult>();
        var gate = new object();
        await Parallel.ForEachAsync(list.Where(c => c.Load == CaseLoad.Light),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (definition, ct) =>
            {
                var result = await RunOneAsync(url, agent, definition, ct);
                lock (gate)
                {
                    results.Add(result);
                    onResult?.Invoke(result);
                }
            });
        await Parallel.ForEachAsync(list.Where(c => c.Load == CaseLoad.Busy),
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
            async (definition, ct) =>
            {
                var result = await RunOneAsync(url, agent, definition, ct);
                lock (gate)
                {
                    results.Add(result);
                    onResult?.Invoke(result);
                }
            });
        foreach (var definition in list.Where(c => c.Load == CaseLoad.Exclusive))
        {
            var result = await RunOneAsync(url, agent, definition, cancellationToken);
            results.Add(result);
            onResult?.Invoke(result);
        }
        results.Sort((a, b) => Catalogue.CompareIds(a.Id, b.Id));
        return results;
    }

    private static string OpcodeName(int opcode) => opcode switch
    {
        0 => "continuation",
        1 => "text",
        2 => "binary",
        8 => "close",
        9 => "ping",
        10 => "pong",
        _ => $"opcode{opcode}",
    };
}

/// <summary>What <see cref="CaseRunner.WarmUpAsync"/> took to settle.</summary>
public readonly record struct WarmUp(int Rounds, TimeSpan Elapsed, TimeSpan LastRound, bool Settled)
{
    public override string ToString() =>
        $"{Rounds} round(s) in {Elapsed.TotalMilliseconds:F0} ms (last {LastRound.TotalMilliseconds:F0} ms{(Settled ? "" : ", not settled")})";
}
