namespace Engine.Fuzz;

/// <summary>A broken invariant: thrown out of a target so afl-fuzz records the input as a crash.</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(what);
        }
    }
}
