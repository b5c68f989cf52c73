namespace Storm;

/// <summary>
/// One fresh client during the storm: when it started (ms into the storm), what connect + upgrade + echo took, when (ms
/// from its start) TCP connected and the 101 arrived (-1: not reached), and its error if it failed.
/// </summary>
internal sealed record ProbeResult(long AtMs, double Ms, double ConnectedMs, double UpgradedMs, string? Error);
