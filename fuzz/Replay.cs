namespace Engine.Fuzz;

/// <summary>Runs a target over saved inputs without afl-fuzz: to reproduce a crash, or to check a corpus.</summary>
internal static class Replay
{
    public static int Run(Action<ReadOnlySpan<byte>> target, IEnumerable<string> paths)
    {
        int runs = 0;
        int failures = 0;
        foreach (string file in paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal))
        {
            runs++;
            try
            {
                target(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures++;
                Console.Error.WriteLine(failures <= 5 ? $"FAIL {file}: {e}" : $"FAIL {file}: {e.GetType().Name}: {e.Message}");
            }
        }
        Console.WriteLine($"{runs} inputs, {failures} failures");
        return failures == 0 ? 0 : 1;
    }
}
