using System.Runtime.InteropServices;
using SharpFuzz.Common;

namespace Engine.Fuzz;

/// <summary>
/// Runs code of the instrumented engine before afl-fuzz's shared memory is there (<see cref="SharpFuzz.Fuzzer.OutOfProcess"/>
/// maps it when the first input comes): the coverage goes to a scratch map meanwhile, which nobody reads.
/// </summary>
internal static class WarmUp
{
    public static unsafe void Run(Action action)
    {
        const int MapSize = 1 << 16;
        byte* scratch = (byte*)NativeMemory.AllocZeroed(MapSize);
        byte* saved = Trace.SharedMem;
        Trace.SharedMem = scratch;
        try
        {
            action();
        }
        finally
        {
            Trace.SharedMem = saved;
            Trace.PrevLocation = 0;
            NativeMemory.Free(scratch);
        }
    }
}
