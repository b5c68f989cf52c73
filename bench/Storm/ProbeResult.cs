namespace Storm;

/// <summary>One fresh client during the storm: when it started (ms into the storm), what connect + upgrade + echo took, and its error if it failed.</summary>
internal sealed record ProbeResult(long AtMs, double Ms, string? Error);
