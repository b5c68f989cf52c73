using System.Diagnostics;
using System.Globalization;
using Load.Report;
using Load.Scenarios;
using Load.Servers;

namespace Load;

/// <summary>
/// Entry point. Modes:
/// <list type="bullet">
/// <item>(default) the benchmark: <c>[--quick] [--reps N] [--out DIR] [--scenarios echo,latency,broadcast,scale,churn,wss,deflate] [--cases TEXT] [--latency-rate N] [--no-ours] [--no-sockets] [--ours-dll PATH] [--ours-jit-dll PATH] [--loops N] [--no-pin] [--server-cpus LIST] [--aspnet [--aspnet-dll PATH]]</c></item>
/// <item><c>--render load.json</c>: redraw load.md and load.svg from an earlier run's JSON</item>
/// <item><c>--tcp-echo --port N</c>: the raw TCP echo server, the generator's ceiling check</item>
/// <item><c>--connect-worker --port N --count K --first I --threads T</c>: a child holding idle connections for the scale scenario</item>
/// </list>
/// </summary>
internal static class Program
{
    private const string GeneratorCpu = "1";
    private const string ServerCpu = "0";

    public static int Main(string[] args)
    {
        var arguments = new Arguments(args);
        if (arguments.Has("--tcp-echo"))
        {
            TcpEchoServer.Run(arguments.Int("--port", 9003));
            return 0;
        }
        if (arguments.Has("--connect-worker"))
        {
            return ConnectWorker.Run(arguments.Int("--port", 0), arguments.Get("--path") ?? "/", arguments.Int("--count", 0),
                long.Parse(arguments.Get("--first") ?? "0", CultureInfo.InvariantCulture), arguments.Int("--threads", 16));
        }
        if (arguments.Get("--render") is { } json)
        {
            // Redraws load.md and load.svg beside a load.json from an earlier run; measures nothing.
            var loaded = JsonReport.Load(json);
            var directory = Path.GetDirectoryName(Path.GetFullPath(json))!;
            File.WriteAllText(Path.Combine(directory, "load.md"), MarkdownReport.Render(loaded));
            File.WriteAllText(Path.Combine(directory, "load.svg"), SvgChart.Render(loaded));
            Console.WriteLine($"redrew {Path.Combine(directory, "load.md")} and load.svg from {json}");
            return 0;
        }
        if (!arguments.Has("--no-pin") && CpuPinning.RerunPinned(args, GeneratorCpu) is { } exitCode)
        {
            return exitCode;
        }
        return RunBenchmark(arguments);
    }

    private static int RunBenchmark(Arguments arguments)
    {
        var root = arguments.Get("--root") ?? Repository.FindRoot();
        var quick = arguments.Has("--quick");
        var output = Path.GetFullPath(arguments.Get("--out") ?? Path.Combine(root, "bench", "results"));
        var logs = Path.Combine(output, "tmp");
        var self = typeof(Program).Assembly.Location;
        var oursDll = arguments.Get("--ours-dll") ?? Path.Combine(root, "src", "Host", "bin", "Release", "net10.0", "Host.dll");
        var kestrelDll = arguments.Get("--kestrel-dll") ?? Path.Combine(root, "bench", "KestrelPeer", "bin", "Release", "net10.0", "KestrelPeer.dll");
        var servers = new List<ServerKind>();
        var results = new ResultSet();
        if (!arguments.Has("--no-ours"))
        {
            if (File.Exists(oursDll))
            {
                servers.Add(new ServerKind("ours", "ours (Host)", oursDll, WebSocket: true, HasStats: true, CanBroadcast: true));
                if (arguments.Get("--ours-jit-dll") is { } jitDll)
                {
                    // run.sh measures the Native AOT Host (as deployed) and passes the JIT build for the idle scenario.
                    servers.Add(new ServerKind("jit", "ours (JIT)", jitDll, WebSocket: true, HasStats: true, CanBroadcast: true) { AllScenarios = false, Idle = true, OnlyIdle = true });
                }
                if (!arguments.Has("--no-sockets"))
                {
                    // The same Host on the portable .NET sockets transport (WS_TRANSPORT=sockets), echo/latency/broadcast only.
                    servers.Add(new ServerKind("sockets", "ours (sockets)", oursDll, WebSocket: true, HasStats: true, CanBroadcast: true) { AllScenarios = false });
                }
            }
            else
            {
                results.Note($"our Host is not built ({oursDll} missing): measured Kestrel only");
            }
        }
        if (!File.Exists(kestrelDll))
        {
            Console.Error.WriteLine($"KestrelPeer not built: {kestrelDll} (run: dotnet build -c Release bench/KestrelPeer)");
            return 2;
        }
        servers.Add(new ServerKind("kestrel", "Kestrel", kestrelDll, WebSocket: true, HasStats: true, CanBroadcast: true));
        if (arguments.Has("--aspnet"))
        {
            // Engine.AspNetCore: one ASP.NET Core app (bench/AspNetCorePeer) serving the engine on /ws and Kestrel's own
            // WebSocket middleware on /kestrel, same process and port; echo, latency, broadcast and idle memory.
            var aspnetDll = arguments.Get("--aspnet-dll") ?? Path.Combine(root, "bench", "AspNetCorePeer", "bin", "Release", "net10.0", "AspNetCorePeer.dll");
            servers.Add(new ServerKind("aspnet", "ours (ASP.NET Core)", aspnetDll, true, true, true) { Path = "/ws", AllScenarios = false, Idle = true });
            servers.Add(new ServerKind("aspnet-kestrel", "Kestrel (same app)", aspnetDll, true, true, true) { Path = "/kestrel", AllScenarios = false, Idle = true });
        }
        var raw = new ServerKind("tcp", "raw TCP echo", self, WebSocket: false, HasStats: false, CanBroadcast: false);
        var scenarios = new HashSet<string>((arguments.Get("--scenarios") ?? "echo,latency,broadcast,scale,churn,wss,deflate").Split(','), StringComparer.Ordinal);
        // --server-cpus 0-1 (with --no-pin, run without run.sh's taskset) lets server and generator share both cores: the scaling run.
        var serverCpus = arguments.Get("--server-cpus") ?? ServerCpu;
        var options = new RunOptions(quick, arguments.Int("--reps", quick ? 1 : 3), output, logs, servers, raw, scenarios, arguments.Get("--cases"), arguments.Int("--latency-rate", 0), arguments.Int("--loops", 1), serverCpus);

        results.Info["mode"] = quick ? "quick" : "full";
        results.Info["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        results.Info["repetitions"] = options.Repetitions.ToString(CultureInfo.InvariantCulture);
        results.Info["servers"] = string.Join(", ", servers.Select(s => s.Label));
        results.Info["machine"] = $"CPUs {File.ReadAllText("/sys/devices/system/cpu/online").Trim()} online, {Environment.OSVersion.VersionString}, .NET {Environment.Version}";
        results.Info["pinning"] = $"servers on CPU {serverCpus}, generator on CPU {CpuPinning.AllowedCpus()}";
        results.Info["generator I/O"] = Bench.Client.EventLoop.Io + " (the raw TCP echo uses the same)";
        results.Info["commit"] = Repository.Commit(root);
        results.Info["ours"] = servers.Any(s => s.Name == "ours") ? oursDll : "not measured";

        Runner.Progress($"load benchmark ({results.Info["mode"]}): {results.Info["servers"]} + raw TCP echo; {results.Info["pinning"]}; {options.Repetitions} repetition(s)");
        var watch = Stopwatch.StartNew();
        new Runner(options, results).Run();
        results.Info["duration"] = $"{watch.Elapsed.TotalMinutes:0.0} min";

        Directory.CreateDirectory(output);
        var markdown = MarkdownReport.Render(results);
        File.WriteAllText(Path.Combine(output, "load.md"), markdown);
        File.WriteAllText(Path.Combine(output, "load.json"), JsonReport.Render(results));
        File.WriteAllText(Path.Combine(output, "load.svg"), SvgChart.Render(results));
        Console.WriteLine();
        Console.WriteLine(markdown);
        Runner.Progress($"done in {results.Info["duration"]}; results in {Path.Combine(output, "load.md")}, load.json, load.svg");
        return 0;
    }
}
