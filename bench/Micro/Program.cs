using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Engine.Benchmarks.Micro;

/// <summary>
/// Micro-benchmarks of the protocol layer and the session. Usage:
///   dotnet run -c Release --project bench/Micro -- [--smoke] [BenchmarkDotNet switches, e.g. --filter *Masking*]
/// --smoke runs every benchmark in-process with a tiny job (seconds, for CI): it proves they run and checks the
/// allocation budgets, not speed. Without --smoke, BenchmarkDotNet's default job (separate process, full statistics).
/// Exit code: 1 when a benchmark failed or a hot-path benchmark allocated (see <see cref="AllocationBudget"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        bool smoke = args.Contains("--smoke");
        string[] switches = args.Where(a => a != "--smoke").ToArray();
        if (smoke && !switches.Contains("--filter"))
        {
            switches = [.. switches, "--filter", "*"];
        }

        IConfig config = DefaultConfig.Instance
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median);
        if (smoke)
        {
            // In-process (no generated project to build) and a few short iterations: about a second per case.
            config = config.AddJob(Job.Default
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithLaunchCount(1)
                .WithWarmupCount(1)
                .WithIterationCount(3)
                .WithIterationTime(TimeInterval.FromMilliseconds(40))
                .WithId("Smoke"));
        }

        Summary[] summaries = BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(switches, config).ToArray();
        return AllocationBudget.Check(summaries, Console.Out) ? 0 : 1;
    }
}
