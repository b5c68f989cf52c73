using System.Diagnostics;
using System.Globalization;
using CrossNode.Report;
using CrossNode.Setups;

namespace CrossNode;

/// <summary>
/// The cross-node benchmark: delivery latency and throughput of the Host's channels on a single node and across two
/// nodes through Redis and NATS (with and without history), side by side in one run.
/// <c>[--quick] [--reps N] [--out DIR] [--setups single,redis,nats,redis-history,nats-history] [--rate N]
/// [--latency-subscribers N] [--subscribers N] [--window N] [--history-size N] [--host-dll PATH] [--no-pin]</c>
/// </summary>
internal static class Program
{
    private const string GeneratorCpu = "1";
    private const string ServerCpu = "0";

    public static int Main(string[] args)
    {
        var arguments = new Arguments(args);
        if (!arguments.Has("--no-pin") && CpuPinning.RerunPinned(args, GeneratorCpu) is { } exitCode)
        {
            return exitCode;
        }
        var root = arguments.Get("--root") ?? Repository.FindRoot();
        var quick = arguments.Has("--quick");
        var output = Path.GetFullPath(arguments.Get("--out") ?? Path.Combine(root, "bench", "results"));
        var logs = Path.Combine(output, "tmp", "crossnode");
        var work = Directory.CreateTempSubdirectory("crossnode-").FullName;
        var hostDll = arguments.Get("--host-dll") ?? Path.Combine(root, "src", "Host", "bin", "Release", "net10.0", "Host.dll");
        if (!File.Exists(hostDll))
        {
            Console.Error.WriteLine($"the Host is not built: {hostDll} (run: dotnet build -c Release src/Host)");
            return 2;
        }
        // Many short repetitions rather than a few long ones: on the shared box a repetition either catches a quiet
        // stretch or not, and the median of ten is steadier than the median of five.
        var reps = arguments.Int("--reps", quick ? 1 : 10);
        var options = new TrialOptions(
            Warmup: TimeSpan.FromSeconds(quick ? 0.5 : 1.5),
            LatencyMeasure: TimeSpan.FromSeconds(quick ? 1.5 : 5),
            ThroughputMeasure: TimeSpan.FromSeconds(quick ? 1.5 : 3),
            Rate: arguments.Double("--rate", 1000),
            LatencySubscribers: arguments.Int("--latency-subscribers", 10),
            Subscribers: arguments.Int("--subscribers", 100),
            Window: arguments.Int("--window", 64));
        if (options.LatencySubscribers > options.Subscribers || options.Rate <= 0 || options.Window <= 0)
        {
            Console.Error.WriteLine("--latency-subscribers must not exceed --subscribers; --rate and --window must be positive");
            return 2;
        }
        var historySize = arguments.Int("--history-size", 1000);
        var wanted = (arguments.Get("--setups") ?? string.Join(',', SetupSpec.All.Select(s => s.Name))).Split(',', StringSplitOptions.RemoveEmptyEntries);
        var specs = SetupSpec.All.Where(s => wanted.Contains(s.Name)).ToList();
        if (specs.Count == 0 || specs[0].Name != SetupSpec.SingleNode)
        {
            Console.Error.WriteLine($"--setups must include {SetupSpec.SingleNode} (every ratio is to it); known: {string.Join(',', SetupSpec.All.Select(s => s.Name))}");
            return 2;
        }

        var results = new ResultSet();
        results.Info["mode"] = quick ? "quick" : "full";
        results.Info["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        results.Info["commit"] = Repository.Commit(root);
        results.Info["repetitions"] = reps.ToString(CultureInfo.InvariantCulture);
        results.Info["machine"] = $"CPUs {File.ReadAllText("/sys/devices/system/cpu/online").Trim()} online, {Environment.OSVersion.VersionString}, .NET {Environment.Version}";
        results.Info["pinning"] = $"Host nodes and brokers on CPU {ServerCpu}, generator on CPU {CpuPinning.AllowedCpus()}";
        results.Info["host"] = hostDll;
        foreach (var kind in new[] { "redis", "nats" })
        {
            results.Info[Broker.Binary(kind)] = Broker.Find(kind) is { } path ? Broker.Version(path) : "not installed";
        }
        var historyUnsupported = HostHasHistory(hostDll) ? null : "this Host has no WS_HISTORY_SIZE setting (built without channel history)";
        results.Info["history"] = historyUnsupported is null ? $"WS_HISTORY_SIZE={historySize}" : "not available: " + historyUnsupported;
        results.Info["durations"] = $"warm-up {options.Warmup.TotalSeconds:0.#} s, latency window {options.LatencyMeasure.TotalSeconds:0.#} s, throughput window {options.ThroughputMeasure.TotalSeconds:0.#} s";

        // How busy the shared box was: other agents' builds and tests compete for both cores.
        var loadAtStart = LoadAverage();
        var watch = Stopwatch.StartNew();
        Progress($"cross-node benchmark ({results.Info["mode"]}): {reps} repetition(s); {results.Info["pinning"]}");
        Progress("starting brokers and Host nodes");
        var deployments = Deployment.StartAll(specs, new DeployOptions(hostDll, ServerCpu, logs, work, historySize, historyUnsupported), Progress);
        try
        {
            for (var rep = 0; rep < reps; rep++)
            {
                // Interleaved: every setup once per repetition, so drift on a shared box touches all alike.
                foreach (var d in deployments.Where(d => d.Runnable))
                {
                    if (d.Dead() is { } dead)
                    {
                        d.Skip($"stopped after {rep} repetition(s): {dead}");
                        continue;
                    }
                    Trial.Run(d, rep, options, results, Progress);
                    Thread.Sleep(300);
                }
            }
        }
        finally
        {
            foreach (var d in deployments)
            {
                d.Dispose();
            }
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        results.Info["duration"] = $"{watch.Elapsed.TotalMinutes:0.0} min";
        results.Info["load average (1/5/15 min)"] = $"{loadAtStart} at the start, {LoadAverage()} at the end (2 CPUs)";

        Directory.CreateDirectory(output);
        var report = new CrossNodeReport(results, deployments.Select(d => (d.Spec, d.SkipReason)).ToList(), options);
        var markdown = report.Markdown();
        File.WriteAllText(Path.Combine(output, "crossnode.md"), markdown);
        File.WriteAllText(Path.Combine(output, "crossnode.json"), report.Json());
        Console.WriteLine();
        Console.WriteLine(markdown);
        Progress($"done in {results.Info["duration"]}; results in {Path.Combine(output, "crossnode.md")} and crossnode.json; logs in {logs}");
        return 0;
    }

    /// <summary>Whether the Host lists WS_HISTORY_SIZE in its <c>--help</c> (the setting that turns channel history on).</summary>
    private static bool HostHasHistory(string hostDll)
    {
        var info = new ProcessStartInfo("dotnet", [hostDll, "--help"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(info)!;
        var help = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            return false;
        }
        return help.Result.Contains("WS_HISTORY_SIZE", StringComparison.Ordinal);
    }

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    public static void Progress(string line) => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {line}");
}
