namespace Conformance.Fuzzing;

/// <summary>The grades Autobahn gives a case, spelled exactly as in its reports so results compare line by line.</summary>
public static class Behavior
{
    public const string Ok = "OK";
    public const string NonStrict = "NON-STRICT";
    public const string Failed = "FAILED";
    public const string Informational = "INFORMATIONAL";
    public const string Unimplemented = "UNIMPLEMENTED";

    // Close-behavior grades (Autobahn's case.py).
    public const string WrongCode = "WRONG CODE";
    public const string Unclean = "UNCLEAN";
    public const string FailedByClient = "FAILED BY CLIENT";

    /// <summary>Whether a grade counts as a pass for our strict engine: OK, or INFORMATIONAL on the cases that only inform.</summary>
    public static bool IsPass(string behavior) => behavior is Ok or Informational;
}
