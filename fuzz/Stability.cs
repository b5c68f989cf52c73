using System.Runtime.InteropServices;
using SharpFuzz.Common;

namespace Engine.Fuzz;

/// <summary>
/// Finds what makes afl-fuzz report a target unstable (the same input taking different paths), without afl-fuzz: runs
/// each input five times in one process on an instrumented build and prints the coverage-map entries that were hit in
/// some runs and not in others. The first run follows the input before it, as in afl-fuzz, so state one run leaves to
/// the next shows up too. <c>Engine.Fuzz stability TARGET FILE...</c> on a build made by <c>fuzz/run.sh build DIR</c>.
/// </summary>
internal static class Stability
{
    private const int MapSize = 1 << 16;
    private const int Runs = 5;

    public static unsafe void Run(string name, Action<ReadOnlySpan<byte>> target, IEnumerable<string> files, TextWriter output)
    {
        byte* map = (byte*)NativeMemory.AllocZeroed(MapSize);
        Trace.SharedMem = map;
        if (name == "transport")
        {
            TransportTarget.WarmUp();
        }
        foreach (string file in files)
        {
            byte[] input = File.ReadAllBytes(file);
            var maps = new List<byte[]>();
            for (int i = 0; i < Runs; i++)
            {
                new Span<byte>(map, MapSize).Clear();
                target(input);
                maps.Add(new Span<byte>(map, MapSize).ToArray());
            }
            var variable = new List<string>();
            for (int entry = 0; entry < MapSize; entry++)
            {
                bool first = maps[0][entry] != 0;
                if (maps.Exists(m => (m[entry] != 0) != first))
                {
                    variable.Add($"{entry}:{string.Join("/", maps.Select(m => m[entry]))}");
                }
            }
            output.WriteLine($"{Path.GetFileName(file)}: {maps[0].Count(b => b != 0)} entries, {variable.Count} variable {string.Join(" ", variable.Take(20))}");
        }
    }
}
