namespace Engine.Tests.Support;

/// <summary>
/// The test runner keeps two thread-pool threads blocked for the whole run (xunit's RunTestsInAssembly waits on a
/// handle, the test platform's message loop polls its socket: seen in dotnet-stack and dotnet-trace), and the pool
/// counts them against its thread goal, which starts at the core count. On 2 cores an in-process server then waited
/// for the pool's starvation check to add a thread, 0.5-2.4 s later; every .NET socket completion on Linux needs a pool
/// thread, so the portable transport stalled (a slowloris probe; a bystander's echo took 1,027 ms beside AttackTests'
/// flood). The conformance suite's fuzzing client reads and times its cases on pool threads too (in one CI run its first
/// five cases lost a second at the start of the process). Giving the pool back those two threads lets the server (and
/// an in-process client) see the pool it has in a Host.
/// </summary>
internal static class RunnerThreadPool
{
    public static void GiveBackBlockedThreads()
    {
        ThreadPool.GetMinThreads(out int workers, out int completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, Environment.ProcessorCount + 2), completionPorts);
    }
}
