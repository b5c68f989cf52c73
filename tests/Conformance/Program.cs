using System.Diagnostics;
using Conformance.Cases;
using Conformance.Reporting;
using Conformance.Running;

namespace Conformance;

/// <summary>
/// Command-line use: grade any WebSocket echo server with the catalogue.
/// <c>dotnet run --project tests/Conformance -- ws://127.0.0.1:9001 --agent NAME [--cases 1.*,5.*] [--parallel N] [--out DIR]</c>
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string? url = null;
        string agent = "Server";
        string? outDir = null;
        var patterns = new List<string> { "*" };
        int parallelism = CaseRunner.DefaultParallelism;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--agent" when i + 1 < args.Length:
                    agent = args[++i];
                    break;
                case "--cases" when i + 1 < args.Length:
                    patterns = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
                    break;
                case "--parallel" when i + 1 < args.Length:
                    parallelism = int.Parse(args[++i]);
                    break;
                case "--out" when i + 1 < args.Length:
                    outDir = args[++i];
                    break;
                case "--list":
                    foreach (var c in Catalogue.All)
                    {
                        Console.WriteLine($"{c.Id}\t{c.Description.Split("<br>")[0].Split('\n')[0]}");
                    }
                    return 0;
                case "-h" or "--help":
                    return Usage();
                default:
                    if (args[i].StartsWith("ws://", StringComparison.OrdinalIgnoreCase))
                    {
                        url = args[i];
                        break;
                    }
                    Console.Error.WriteLine($"unknown argument: {args[i]}");
                    return Usage();
            }
        }
        if (url is null)
        {
            return Usage();
        }

        var cases = Catalogue.Select(patterns);
        Console.WriteLine($"grading {url} as '{agent}': {cases.Count} cases, {parallelism} at a time (section 9 alone)");
        // Ungraded, so that the first cases' 1 s kill timers do not pay for this client's (or a JIT server's) cold start.
        Console.WriteLine($"warm-up: {await CaseRunner.WarmUpAsync(new Uri(url), agent)}");
        var clock = Stopwatch.StartNew();
        var results = await CaseRunner.RunAsync(new Uri(url), agent, cases, parallelism, r =>
        {
            var time = r.ReportTime ? $" {r.Duration} ms" : "";
            Console.WriteLine($"{r.Id,-9} {r.Behavior,-13} close {r.BehaviorClose,-16} code {r.RemoteCloseCode?.ToString() ?? "-",-5}{time}");
            if (!r.Passed)
            {
                Console.WriteLine($"          {r.Result} / {r.ResultClose}");
            }
        });
        var directory = ReportWriter.Write(results, outDir);
        Console.WriteLine();
        foreach (var group in results.GroupBy(r => r.Behavior).OrderBy(g => g.Key))
        {
            Console.WriteLine($"{group.Key,-14} {group.Count()}");
        }
        var notOk = results.Where(r => !r.Passed).ToList();
        Console.WriteLine($"{results.Count} cases in {clock.Elapsed.TotalSeconds:F1} s; {notOk.Count} not OK; report in {directory}");
        return notOk.Count == 0 ? 0 : 1;
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: Engine.Tests.Conformance ws://host:port --agent NAME [--cases 1.*,5.*] [--parallel N] [--out DIR] | --list");
        return 2;
    }
}
