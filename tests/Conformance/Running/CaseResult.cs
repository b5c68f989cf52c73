namespace Conformance.Running;

/// <summary>The graded outcome of one case against one agent (a row of Autobahn's per-agent report).</summary>
public sealed record CaseResult
{
    public required string Agent { get; init; }
    public required string Id { get; init; }
    public required string Description { get; init; }
    public required string Expectation { get; init; }
    public required string Behavior { get; init; }
    public required string BehaviorClose { get; init; }
    public required string Result { get; init; }
    public required string ResultClose { get; init; }
    public required long Duration { get; init; }
    public required bool ReportTime { get; init; }
    public int? RemoteCloseCode { get; init; }
    public string? RemoteCloseReason { get; init; }
    public int? LocalCloseCode { get; init; }
    public bool ClosedByMe { get; init; }
    public bool FailedByMe { get; init; }
    public bool DroppedByMe { get; init; }
    public bool WasClean { get; init; }
    public string? WasNotCleanReason { get; init; }
    public required string Expected { get; init; }
    public required string Received { get; init; }
    public required WireSummary Wire { get; init; }
    public IReadOnlyList<string>? WireLog { get; init; }

    /// <summary>Pass for our engine: the case and its close are OK (or informational where the case only informs).</summary>
    public bool Passed => Fuzzing.Behavior.IsPass(Behavior) && Fuzzing.Behavior.IsPass(BehaviorClose);

    /// <summary>One line saying what happened, for test failure messages and the CLI.</summary>
    public string Explain() =>
        $"case {Id} [{Agent}]: behavior {Behavior} ({Result}); close {BehaviorClose} ({ResultClose}); " +
        $"remote close code {RemoteCloseCode?.ToString() ?? "none"}; closedByMe={ClosedByMe} droppedByMe={DroppedByMe} wasClean={WasClean}; " +
        $"expected {Expected}; received {Received}; {Wire}; {Duration} ms";
}

/// <summary>Wire traffic of a case: octets and frames each way, frames per opcode.</summary>
public sealed record WireSummary(long RxOctets, long TxOctets, IReadOnlyDictionary<string, int> RxFrames, IReadOnlyDictionary<string, int> TxFrames)
{
    public override string ToString() =>
        $"in {RxOctets} B / {RxFrames.Values.Sum()} frames, out {TxOctets} B / {TxFrames.Values.Sum()} frames";
}
