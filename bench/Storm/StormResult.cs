namespace Storm;

/// <summary>Everything one storm run measured: written whole to storm.json, summarized in storm.md.</summary>
internal sealed record StormResult(DateTime FinishedUtc, StormOptions Options, string Command, double StormSeconds, string LoadBefore, string LoadAfter,
    IReadOnlyList<ClientResult> Clients, IReadOnlyList<ProbeResult> Probes, IReadOnlyList<ServerSample> Samples, ServerSample Idle, ServerSample Final,
    IReadOnlyList<Check> Checks)
{
    public bool Passed => Checks.All(c => c.Passed);

    public long Opened => Clients.Sum(c => c.Opened);

    public long Closed => Clients.Sum(c => c.CleanCloses + c.Resets + c.ServerEnded);
}
