using System.Diagnostics;
using System.Globalization;
using System.Net;
using Engine.Tests.Support;

namespace Storm;

/// <summary>
/// The storm run end to end: a Host (echo mode, heartbeats every <see cref="StormOptions.Heartbeat"/>), a primer burst
/// and an idle baseline, then <see cref="StormOptions.Clients"/> client processes cycling their share of
/// <see cref="StormOptions.Connections"/> as fast as they can while a fresh client probes the service and the server
/// process is sampled every second; then every client gone, the server must be back to its idle baseline:
/// no connection, pooled block, timer-wheel entry or descriptor left behind.
/// </summary>
internal static class StormRun
{
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(StormOptions options, string command)
    {
        // The probe and the sampler must measure the server, not this process: with the pool's default of one thread
        // per core, a sampler blocked in its HTTP reads and the client processes' output readers can hold every pool
        // thread, and the probe's continuations would wait for the pool's starvation check (0.5-1 s) to add one.
        ThreadPool.GetMinThreads(out int workers, out int completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), completionPorts);
        string hostDll = options.HostDll ?? HostProcess.HostDll;
        options = options with { RunNice = Launcher.OwnNiceness() };
        List<string> hostArgs = Launcher.Command(options.ServerCpus, options.RunNice);
        // A native executable (the Host published with Native AOT) runs as itself, in dotnet's place; a .dll under dotnet.
        if (hostDll.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            hostArgs.Add(hostDll);
        }
        else
        {
            hostArgs[^1] = hostDll;
        }
        string hostExecutable = hostArgs[0];
        hostArgs.RemoveAt(0);
        hostArgs.AddRange(["--echo", "--port", "0", "--address", "127.0.0.1", "--transport", options.Transport,
            "--heartbeat-interval", Ms(options.Heartbeat)]);
        Console.WriteLine($"storm: {options.Connections} connections over {options.Clients} client processes for {options.Duration.TotalSeconds:F0} s, " +
            $"heartbeats every {options.Heartbeat.TotalMilliseconds:F0} ms, transport {options.Transport}; Host {hostDll}" +
            string.Concat(options.HostEnvironment.Select(pair => $" {pair.Key}={pair.Value}")));
        using HostProcess host = await HostProcess.StartAsync(hostArgs, options.HostEnvironment, executable: hostExecutable);
        int port = host.Port;
        var clock = Stopwatch.StartNew();

        // A short storm first, then a wait until it has all gone: what the runtime sets up once (thread-pool threads,
        // lazily opened descriptors, JIT) is then part of the idle baseline the end is compared with.
        await RunClientsAsync(options with { Connections = Math.Min(200, options.Connections), Clients = 1, Duration = TimeSpan.FromSeconds(3) }, port);
        await SettleAsync(host.Pid, port, clock, idle: null);
        await Task.Delay(2000);
        ServerSample idle = ServerSample.Take(clock.Elapsed.TotalSeconds, host.Pid, port);
        Console.WriteLine($"  idle: {Line(idle)}");
        string loadBefore = LoadAverage();

        var stormClock = Stopwatch.StartNew();
        var prober = new Prober(new IPEndPoint(IPAddress.Loopback, port), options.ProbeEvery, stormClock);
        using var stopProbes = new CancellationTokenSource();
        Task probing = Task.Run(() => prober.RunAsync(stopProbes.Token));
        using var abort = new CancellationTokenSource();
        Task<ClientResult?[]> clients = RunClientsAsync(options, port, abort.Token);
        var samples = new List<ServerSample>();
        while (!clients.IsCompleted)
        {
            await Task.WhenAny(clients, Task.Delay(1000));
            if (!File.Exists($"/proc/{host.Pid}/status"))
            {
                // The Host died under the storm: that is the finding; stop the clients and show what it said last.
                await abort.CancelAsync();
                await clients;
                await stopProbes.CancelAsync();
                Console.WriteLine($"  the Host exited {stormClock.Elapsed.TotalSeconds:F0} s into the storm; its last output:");
                foreach (string line in host.Output.Split('\n').TakeLast(60))
                {
                    Console.WriteLine("    " + line);
                }
                Console.WriteLine("Storm tests: Passed: 0, Failed: 1");
                return 1;
            }
            ServerSample sample = ServerSample.Take(stormClock.Elapsed.TotalSeconds, host.Pid, port, sockets: false, http: options.StatsDuringStorm);
            samples.Add(sample);
            IReadOnlyList<ProbeResult> probes = prober.Results;
            double slowest = probes.Count == 0 ? 0 : probes.Max(p => p.Ms);
            Console.WriteLine($"  {sample.Seconds,5:F0} s  {Line(sample)}  probes {probes.Count} (slowest {slowest:F0} ms)");
        }
        ClientResult?[] results = await clients;
        double stormSeconds = stormClock.Elapsed.TotalSeconds;
        await stopProbes.CancelAsync();
        await probing;
        string loadAfter = LoadAverage();

        ServerSample final = await SettleAsync(host.Pid, port, stormClock, idle);
        Console.WriteLine($"  end:  {Line(final)}");
        host.Terminate();
        bool exited = await host.WaitForExitAsync(TimeSpan.FromSeconds(15)) && host.ExitCode == 0;

        ClientResult[] finished = [.. results.OfType<ClientResult>()];
        var result = new StormResult(DateTime.UtcNow, options, command, stormSeconds, loadBefore, loadAfter, finished, prober.Results, samples, idle, final,
            Judge(options, results, prober.Results, samples, idle, final, exited));
        Directory.CreateDirectory(options.OutDirectory);
        StormReport.Write(result, options.OutDirectory);
        foreach (Check check in result.Checks)
        {
            Console.WriteLine($"  [{(check.Passed ? "pass" : "FAIL")}] {check.Name}: {check.Detail}");
        }
        int passed = result.Checks.Count(c => c.Passed);
        Console.WriteLine($"results: {Path.Combine(options.OutDirectory, "storm.md")} (.json)");
        Console.WriteLine($"Storm tests: Passed: {passed}, Failed: {result.Checks.Count - passed}");
        return result.Passed ? 0 : 1;
    }

    private static List<Check> Judge(StormOptions options, ClientResult?[] results, IReadOnlyList<ProbeResult> probes, List<ServerSample> samples,
        ServerSample idle, ServerSample final, bool exited)
    {
        ClientResult[] clients = [.. results.OfType<ClientResult>()];
        long opened = clients.Sum(c => c.Opened);
        long failed = clients.Sum(c => c.Failed);
        long pongs = clients.Sum(c => c.Pongs);
        var checks = new List<Check>
        {
            new("every client process finished", clients.Length == results.Length, $"{clients.Length} of {results.Length} reported a result"),
            // Each slot cycled many times: the storm really churned the server (not a few slow connects).
            new("the storm flowed", opened >= 2L * options.Connections, $"{opened:N0} upgrades for {options.Connections:N0} slots; {failed:N0} client cycles failed"),
            new("heartbeats flowed", pongs > 0, $"{pongs:N0} server pings answered"),
            new("the server's stats answered", final.Stats && idle.Stats, final.Stats ? "yes" : "no /stats or /metrics answer at the end"),
            new("no connection left", final.Connections == idle.Connections, $"{final.Connections} open at the end, {idle.Connections} idle"),
            new("no pooled block left", final.Blocks == idle.Blocks, $"{final.Blocks} rented at the end, {idle.Blocks} idle"),
            // At most the idle count, not exactly it: the idle sample can catch the sampler's own /stats request still
            // closing when /metrics is read (2 idle, 1 at the end, in one sockets run), which is not something left behind.
            new("no timer left", final.Timers <= idle.Timers, $"{final.Timers} wheel entries at the end, {idle.Timers} idle"),
            new("no socket left", final.Sockets == idle.Sockets, $"{final.Sockets} socket descriptors at the end, {idle.Sockets} idle"),
            new("no descriptor left", final.Descriptors <= idle.Descriptors, $"{final.Descriptors} descriptors at the end, {idle.Descriptors} idle"),
            new("graceful exit on SIGTERM", exited, exited ? "exit code 0" : "did not exit cleanly within 15 s"),
        };
        int expected = (int)(options.Duration / options.ProbeEvery / 2);
        checks.Add(new Check("probes ran throughout", probes.Count >= expected, $"{probes.Count} probes (at least {expected} expected)"));
        ProbeResult[] failedProbes = [.. probes.Where(p => p.Error is not null)];
        ProbeResult[] slow = [.. probes.Where(p => p.Ms >= options.ProbeBound.TotalMilliseconds)];
        double max = probes.Count == 0 ? 0 : probes.Max(p => p.Ms);
        string detail = $"slowest {max:F0} ms; {slow.Length} at or over {options.ProbeBound.TotalMilliseconds:F0} ms" +
            (slow.Length == 0 ? "" : " (total/connected/upgraded ms @ storm ms: "
                + string.Join(' ', slow.Take(12).Select(p => $"{p.Ms:F0}/{p.ConnectedMs:F0}/{p.UpgradedMs:F0}@{p.AtMs}")) + ")") +
            (failedProbes.Length == 0 ? "" : $"; {failedProbes.Length} failed: {failedProbes[0].Error}");
        // Quick mode (CI) asserts only that every probe was served at all, within its 10 s timeout: its 1,000 slots cannot
        // overflow the Host's 1,024-deep accept queue (each slot has one connect in flight at most), so no SYN of the probe
        // is dropped and retried; what is left is the server's own pace on a loaded 2-core box, milliseconds to a few
        // hundred (the slowest seen there: 57 ms at load average 11), far inside 10 s. The 250 ms bound is the fault run's.
        checks.Add(options.EnforceProbeBound
            ? new Check($"a fresh client served within {options.ProbeBound.TotalMilliseconds:F0} ms throughout", slow.Length == 0 && failedProbes.Length == 0, detail)
            : new Check("a fresh client served throughout (bound reported, not enforced)", failedProbes.Length == 0, detail));
        // A sample of 19,999 means accept4 was failing with EMFILE: keep a margin, not just "under 20,000".
        checks.Add(new Check("server clear of the 20,000 descriptor limit", samples.Count > 0 && samples.Max(s => s.Descriptors) < 19_900,
            $"peak {(samples.Count == 0 ? 0 : samples.Max(s => s.Descriptors))} descriptors"));
        return checks;
    }

    /// <summary>Starts the client processes, each with its share of the slots and its own loopback source address.</summary>
    private static async Task<ClientResult?[]> RunClientsAsync(StormOptions options, int port, CancellationToken abort = default)
    {
        var processes = new List<ClientProcess>();
        try
        {
            for (int i = 0; i < options.Clients; i++)
            {
                int share = (options.Connections / options.Clients) + (i < options.Connections % options.Clients ? 1 : 0);
                // Its own source address per process: 28,000 ephemeral ports each, however fast the slots recycle them.
                processes.Add(new ClientProcess(["--port", port.ToString(CultureInfo.InvariantCulture), "--source", $"127.0.0.{10 + i}",
                    "--connections", share.ToString(CultureInfo.InvariantCulture), "--seconds", options.Duration.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                    "--hold-max-ms", Ms(options.HoldMax), "--ramp-ms", Ms(options.Ramp), "--reset-fraction", options.ResetFraction.ToString(CultureInfo.InvariantCulture),
                    "--seed", i.ToString(CultureInfo.InvariantCulture)], Launcher.Command(options.ClientCpus, options.RunNice)));
            }
            // Each client stops itself 45 s after its duration at the latest; this is the backstop.
            Task<ClientResult?[]> all = Task.WhenAll(processes.Select(p => p.Result));
            await Task.WhenAny(all, Task.Delay(options.Duration + TimeSpan.FromSeconds(60), abort).ContinueWith(_ => { }, TaskScheduler.Default));
            return all.IsCompleted ? await all : [.. processes.Select(p => p.Result.IsCompleted ? p.Result.Result : null)];
        }
        finally
        {
            foreach (ClientProcess process in processes)
            {
                process.Dispose();
            }
        }
    }

    /// <summary>Waits (at most 30 s) until the server is back to <paramref name="idle"/> (or, with none yet, holds no connection or block).</summary>
    private static async Task<ServerSample> SettleAsync(int pid, int port, Stopwatch clock, ServerSample? idle)
    {
        var settle = Stopwatch.StartNew();
        ServerSample now = ServerSample.Take(clock.Elapsed.TotalSeconds, pid, port);
        while (!Settled(now) && settle.Elapsed < SettleLimit)
        {
            await Task.Delay(250);
            now = ServerSample.Take(clock.Elapsed.TotalSeconds, pid, port);
        }
        return now;

        bool Settled(ServerSample s) => s.Stats && s.Connections == 0 && s.Blocks == 0
            && (idle is null || (s.Timers <= idle.Timers && s.Sockets <= idle.Sockets && s.Descriptors <= idle.Descriptors));
    }

    private static string Line(ServerSample s) =>
        $"fds {s.Descriptors,5} (sockets {s.Sockets,5})  rss {s.RssBytes / 1048576.0,6:F1} MiB  threads {s.Threads,3}  " +
        $"conns {s.Connections,5}  blocks {s.Blocks,5}  timers {s.Timers,5}  upgrades {s.Upgrades}  listen overflows {s.ListenOverflows}  pool queue {s.PoolQueue}  " +
        $"gc pause {s.GcPauseSeconds * 1000:F0} ms (gen2 {s.Gen2Collections})";

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Trim();

    private static string Ms(TimeSpan time) => ((long)time.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
