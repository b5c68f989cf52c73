namespace Storm;

/// <summary>What one client process did: cycles completed by each ending, failures, and pongs sent to heartbeats.</summary>
internal sealed record ClientResult(double Seconds, long Opened, long CleanCloses, long Resets, long Failed, long ServerEnded, long Pongs, string[] Errors);
