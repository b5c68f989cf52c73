namespace Storm;

/// <summary>One pass/fail line of the verdict.</summary>
internal sealed record Check(string Name, bool Passed, string Detail);
