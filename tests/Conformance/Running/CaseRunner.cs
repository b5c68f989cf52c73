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
