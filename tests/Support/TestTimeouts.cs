namespace Engine.Tests.Support;

/// <summary>
/// The time bounds the tests share. They are of two kinds, and a test says which one it uses:
/// <list type="bullet">
/// <item><see cref="Hang"/> bounds a wait for something that must happen (a reply, a close, a drain): it is there so that
/// a bug fails the test instead of hanging the run, never to claim a speed. It is far above anything a loaded 2-core box
/// takes (load 20: other test projects, builds and fuzzers beside this one stretch a loopback round trip or a thread-pool
/// dispatch to a few hundred milliseconds, a GC pause or a JIT burst to a second or two), so only a hang reaches it.</item>
/// <item>A bound that is a claim ("within 250 ms", "not before 1 s") is written at its assertion with a comment saying
/// what it protects and why its margin holds on such a box; a bound that only holds on a quiet box is a benchmark.</item>
/// </list>
/// </summary>
internal static class TestTimeouts
{
    /// <summary>Long enough that only a hang reaches it (see the type's remarks); never a claim about speed.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);
}
