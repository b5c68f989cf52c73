using System.Diagnostics;
using System.Globalization;
using System.Net;
using Load.Client;
using Load.Report;
using Load.Servers;

namespace Load.Scenarios;

/// <summary>Settings of one benchmark run; full and quick differ only in sizes, durations and repetitions.</summary>
internal sealed record RunOptions(
    bool Quick,
    int Repetitions,
    string OutputDirectory,
    string LogDirectory,
    IReadOnlyList<ServerKind> Servers,
    ServerKind RawEcho,
    HashSet<string> Scenarios,
    string? CaseFilter,
    double LatencyRate,
    int Loops,
    string ServerCpu)
{
    public TimeSpan Warmup => Quick ? TimeSpan.FromSeconds(0.4) : TimeSpan.FromSeconds(1);
    public TimeSpan Measure => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);
    public TimeSpan LatencyMeasure => Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);
    public int[] EchoConnections => [10, 100, 1000];
    public int[] EchoPayloads => [16, 1024, 64 * 1024];
    public int[] BroadcastSubscribers => Quick ? [100, 1000] : [1000, 10_000];
    public int[] ScaleConnections => Quick ? [1000, 2000] : [10_000, 15_000];
    public int ChurnThreads => 16;
    public int CompressedEchoConnections => Quick ? 4 : 20;
    public int CompressedIdleConnections => Quick ? 200 : 2000;
}

/// <summary>
/// Runs every scenario against every server, interleaved (ours, Kestrel, ours, Kestrel…) so drift on a shared box hits
/// both alike. The raw TCP echo, the generator's ceiling, takes its turn in every repetition too: the ratio to it is a
/// goal (issue 19), and a single sample of it on this box moved by a third between runs.
/// </summary>
internal sealed class Runner(RunOptions options, ResultSet results)
{
    private const string Echo = "echo throughput";
    private const string Latency = "latency at fixed rate";
    private const string Broadcast = "broadcast fan-out";
    private const string Scale = "connection scale";
    private const string Churn = "churn";
    private const string Compression = "permessage-deflate";
    private int nextPort = 9100 + Environment.ProcessId % 500 * 20;
    private long scaleIndex = 5_000_000;

    public void Run()
    {
        if (options.Scenarios.Contains("echo") || options.Scenarios.Contains("latency"))
        {
            WithServers(broadcast: false, includeRaw: true, allKinds: true, servers =>
            {
                if (options.Scenarios.Contains("echo"))
                {
                    RunEcho(servers);
                }
                if (options.Scenarios.Contains("latency"))
                {
                    RunLatency(servers);
                }
            });
        }
        if (options.Scenarios.Contains("broadcast"))
        {
            WithServers(broadcast: true, includeRaw: false, allKinds: true, RunBroadcast);
        }
        if (options.Scenarios.Contains("scale"))
        {
            RunScale();
        }
        if (options.Scenarios.Contains("churn"))
        {
            WithServers(broadcast: false, includeRaw: true, allKinds: false, RunChurn);
        }
        if (options.Scenarios.Contains("wss"))
        {
            RunWss();
        }
        if (options.Scenarios.Contains("deflate"))
        {
            RunCompression();
        }
    }

    /// <summary>permessage-deflate: compressed ping-pong echo, then idle memory per connection with and without compression (fresh servers).</summary>
    private void RunCompression()
    {
        var echoCell = $"{options.CompressedEchoConnections} conns, 1 KiB JSON text, compressed, window 1";
        Progress($"[deflate] {echoCell} (ClientWebSocket peers)");
        for (var rep = 0; rep < options.Repetitions; rep++)
        {
            foreach (var kind in options.Servers.Where(k => k.AllScenarios))
            {
                using var server = TryStartCompressed(kind);
                if (server is null)
                {
                    continue;
                }
                var m = CompressionScenario.Echo(server, options.CompressedEchoConnections, 1024, options.Warmup, options.Measure);
                results.Add(Compression, echoCell, "messages/s", "msg/s", true, kind.Name, m.PerSecond);
                results.Add(Compression, echoCell, "messages per server CPU-s", "msg/CPU-s", true, kind.Name, m.PerServerCpuSecond);
                CheckRun(server, "deflate echo", m);
                Progress($"  [deflate] echo {kind.Label,-14} rep {rep + 1}: {Format.Number(m.PerSecond),10} msg/s {Format.Number(m.PerServerCpuSecond),10} msg/CPU-s");
            }
        }
        foreach (bool deflate in new[] { true, false })
        {
            var cell = $"{options.CompressedIdleConnections:N0} idle connections, {(deflate ? "deflate agreed and used once" : "no compression offered")}";
            Progress($"[deflate] {cell}");
            for (var rep = 0; rep < options.Repetitions; rep++)
            {
                foreach (var kind in options.Servers.Where(k => k.AllScenarios))
                {
                    using var server = TryStartCompressed(kind);
                    if (server is null)
                    {
                        continue;
                    }
                    var (rss, opened, error) = CompressionScenario.IdleMemory(server, options.CompressedIdleConnections, deflate);
                    results.Add(Compression, cell, "server RSS per connection", "B", false, kind.Name, rss);
                    if (error is not null || opened < options.CompressedIdleConnections)
                    {
                        results.Note($"{kind.Label}: deflate {cell}: opened {opened}; {error}");
                    }
                    Progress($"  [deflate] idle {kind.Label,-14} rep {rep + 1}: {Format.Number(rss)} B RSS per connection ({opened} open)");
                }
            }
        }
    }

    private ServerProcess? TryStartCompressed(ServerKind kind) => TryStart(kind with { Compression = true }, broadcast: false);

    /// <summary>Starts the servers (all kinds, or only those measured in every scenario), runs <paramref name="body"/>, stops them.</summary>
    private void WithServers(bool broadcast, bool includeRaw, bool allKinds, Action<Dictionary<string, ServerProcess>> body)
    {
        var running = new Dictionary<string, ServerProcess>();
        try
        {
            foreach (var kind in options.Servers)
            {
                if ((broadcast && !kind.CanBroadcast) || (!allKinds && !kind.AllScenarios) || kind.OnlyIdle)
                {
                    continue;
                }
                if (TryStart(kind, broadcast) is { } s)
                {
                    running[kind.Name] = s;
                }
            }
            if (includeRaw && TryStart(options.RawEcho, false) is { } raw)
            {
                running[raw.Kind.Name] = raw;
            }
            body(running);
        }
        finally
        {
            foreach (var s in running.Values)
            {
                if (s.HasExited)
                {
                    results.Note($"{s.Kind.Label} ({(broadcast ? "broadcast" : "echo")} mode) exited during the run: {s.LogTail()}");
                }
                s.Dispose();
            }
        }
    }

    private const string WssEcho = "wss echo (TLS)";
    private const string WssIdle = "wss idle memory";

    /// <summary>
    /// wss:// against Kestrel with TLS (<c>UseHttps</c>), both loading the same PEM files made for this run. The generator
    /// is TlsScenario's async SslStream client, whose own ceiling is reported beside each cell.
    /// </summary>
    private void RunWss()
    {
        var files = TlsScenario.WriteCertificate(options.LogDirectory);
        var tlsServers = options.Servers.Where(k => k.AllScenarios).Select(k => k with { Tls = files }).ToList();
        // Quick (CI smoke): two echo cells, no idle-memory cells; about 20 s.
        EchoSpec[] cells = options.Quick
            ? [new(100, 16, 1, 0, options.Warmup, options.Measure), new(100, 16, 16, 0, options.Warmup, options.Measure)]
            :
            [
                new(100, 16, 1, 0, options.Warmup, options.Measure),
                new(100, 16, 16, 0, options.Warmup, options.Measure),
                new(100, 4096, 1, 0, options.Warmup, options.Measure),
            ];
        Progress($"[wss] {cells.Length} echo cases × {options.Repetitions} repetitions over TLS (SslStream + ClientWebSocket generator)");
        var running = new List<ServerProcess>();
        try
        {
            foreach (var kind in tlsServers)
            {
                if (TryStart(kind, broadcast: false) is { } started)
                {
                    running.Add(started);
                }
            }
            foreach (var spec in cells)
            {
                for (var rep = 0; rep < options.Repetitions; rep++)
                {
                    foreach (var server in running.Where(r => !r.HasExited))
                    {
                        var m = TlsScenario.RunEcho(server, tls: true, spec);
                        var name = server.Kind.Name;
                        results.Add(WssEcho, spec.Cell, "messages/s", "msg/s", true, name, m.PerSecond);
                        results.Add(WssEcho, spec.Cell, "messages per server CPU-s", "msg/CPU-s", true, name, m.PerServerCpuSecond);
                        results.Add(WssEcho, spec.Cell, "server CPU use", "cores", false, name, m.ServerCpuUse);
                        results.Add(WssEcho, spec.Cell, "generator CPU use", "cores", false, name, m.ClientCpuUse);
                        var ceiling = m.ClientCpuSeconds > 0 ? m.Messages / m.ClientCpuSeconds : double.NaN;
                        results.Add(WssEcho, spec.Cell, "generator ceiling (msgs per generator CPU-s)", "msg/CPU-s", true, name, ceiling);
                        CheckRun(server, "wss echo " + spec.Cell, m);
                        Progress($"  [wss] {spec.Cell,-32} {server.Kind.Label,-14} rep {rep + 1}: {Format.Number(m.PerSecond),12} msg/s " +
                            $"{Format.Number(m.PerServerCpuSecond),12} msg/CPU-s  server {m.ServerCpuUse:0.00} / gen {m.ClientCpuUse:0.00} cores (generator ceiling {Format.Number(ceiling)} msg/s)");
                        Thread.Sleep(200);
                    }
                }
            }
        }
        finally
        {
            foreach (var server in running)
            {
                if (server.HasExited)
                {
                    results.Note($"{server.Kind.Label} (wss) exited during the run: {server.LogTail()}");
                }
                server.Dispose();
            }
        }

        // Idle memory: a fresh server per measurement; plain ws with the same client as the baseline. Full runs only: each
        // cell starts fresh servers, which the quick smoke (CI) has no time for.
        if (options.Quick)
        {
            return;
        }
        const int idle = 2000;
        foreach (var tls in new[] { true, false })
        {
            var cell = $"{idle:N0} idle {(tls ? "wss" : "ws")} connections (async client)";
            Progress($"[wss] {cell}");
            for (var rep = 0; rep < options.Repetitions; rep++)
            {
                foreach (var kind in tls ? tlsServers : options.Servers.Where(k => k.AllScenarios))
                {
                    using var server = TryStart(kind, broadcast: false);
                    if (server is null)
                    {
                        continue;
                    }
                    var o = TlsScenario.RunIdle(server, tls, idle);
                    results.Add(WssIdle, cell, "server RSS per connection", "B", false, kind.Name, o.RssPerConnection);
                    results.Add(WssIdle, cell, "failed to open", "conns", false, kind.Name, o.Failed);
                    if (o.Failed > 0 || o.Error is not null)
                    {
                        results.Note($"{kind.Label}: {cell}: {o.Failed} of {idle} failed to open; {o.Error}");
                    }
                    Progress($"  [wss] {cell} {kind.Label,-14} rep {rep + 1}: opened {o.Opened} (failed {o.Failed}), RSS {Format.Number(o.RssPerConnection)} B/conn");
                }
            }
        }
    }

    private ServerProcess? TryStart(ServerKind kind, bool broadcast)
    {
        try
        {
            return ServerProcess.Start(kind, broadcast, nextPort++, options.LogDirectory, options.ServerCpu);
        }
        catch (InvalidOperationException e)
        {
            results.Note($"{kind.Label} could not be started in {(broadcast ? "broadcast" : "echo")} mode: {e.Message}");
            Progress($"  ! {e.Message}");
            return null;
        }
    }

    /// <summary>The servers to measure in one repetition, the raw echo last where it applies.</summary>
    private IEnumerable<ServerProcess> Order(Dictionary<string, ServerProcess> servers, bool withRaw)
    {
        foreach (var kind in options.Servers)
        {
            if (servers.TryGetValue(kind.Name, out var s) && !s.HasExited)
            {
                yield return s;
            }
        }
        if (withRaw && servers.TryGetValue(options.RawEcho.Name, out var raw))
        {
            yield return raw;
        }
    }

    private static Target TargetOf(ServerProcess s) => new(IPAddress.Loopback, s.Port, s.Kind.Path, s.Kind.WebSocket);

    private List<EchoSpec> EchoCells()
    {
        var cells = new List<EchoSpec>();
        foreach (var c in options.EchoConnections)
        {
            foreach (var p in options.EchoPayloads)
            {
                cells.Add(new EchoSpec(c, p, 1, 0, options.Warmup, options.Measure));
            }
            cells.Add(new EchoSpec(c, 16, 16, 0, options.Warmup, options.Measure));
        }
        return cells;
    }

    private void RunEcho(Dictionary<string, ServerProcess> servers)
    {
        var cells = EchoCells().Where(c => options.CaseFilter is null || c.Cell.Contains(options.CaseFilter, StringComparison.Ordinal)).ToList();
        Progress($"[echo] {cells.Count} cases × {options.Repetitions} repetitions, {options.Warmup.TotalSeconds:0.#} s warm-up + {options.Measure.TotalSeconds:0.#} s measured each");
        foreach (var spec in cells)
        {
            for (var rep = 0; rep < options.Repetitions; rep++)
            {
                foreach (var server in Order(servers, withRaw: true))
                {
                    var m = EchoScenario.Run(server, TargetOf(server), spec, options.Loops);
                    var name = server.Kind.Name;
                    results.Add(Echo, spec.Cell, "messages/s", "msg/s", true, name, m.PerSecond);
                    results.Add(Echo, spec.Cell, "MB/s (payload, one way)", "MB/s", true, name, m.MegabytesPerSecond);
                    results.Add(Echo, spec.Cell, "messages per server CPU-s", "msg/CPU-s", true, name, m.PerServerCpuSecond);
                    results.Add(Echo, spec.Cell, "server allocated B/message", "B/msg", false, name, m.AllocatedPerMessage);
                    results.Add(Echo, spec.Cell, "server CPU use", "cores", false, name, m.ServerCpuUse);
                    results.Add(Echo, spec.Cell, "generator CPU use", "cores", false, name, m.ClientCpuUse);
                    CheckRun(server, "echo " + spec.Cell, m);
                    Progress($"  [echo] {spec.Cell,-32} {server.Kind.Label,-14} rep {rep + 1}: {Format.Number(m.PerSecond),12} msg/s {Format.Number(m.MegabytesPerSecond),9} MB/s " +
                        $"{Format.Number(m.PerServerCpuSecond),12} msg/CPU-s  server {m.ServerCpuUse:0.00} / gen {m.ClientCpuUse:0.00} cores  alloc {Format.Number(m.AllocatedPerMessage)} B/msg");
                    Thread.Sleep(200);
                }
            }
        }
    }

    private void RunLatency(Dictionary<string, ServerProcess> servers)
    {
        var peakServer = servers.ContainsKey("ours") ? "ours" : "kestrel";
        // The peak is the ping-pong (window 1) figure: the open-loop generator sends each message when it is due, one
        // at a time, as ping-pong clients do, so 50% of the pipelined peak would measure the generator's queue, not the server.
        var peakCell = new EchoSpec(100, 16, 1, 0, default, default).Cell;
        var peak = results.Find(Echo, peakCell, "messages/s")?.Median(peakServer) ?? double.NaN;
        if ((double.IsNaN(peak) || peak <= 0) && options.LatencyRate <= 0)
        {
            Progress("[latency] no echo peak measured; running the 100 conns/16 B ping-pong case to find it");
            var m = EchoScenario.Run(servers[peakServer], TargetOf(servers[peakServer]), new EchoSpec(100, 16, 1, 0, options.Warmup, options.Measure), options.Loops);
            peak = m.PerSecond;
        }
        var rate = options.LatencyRate > 0 ? options.LatencyRate : Math.Max(1000, Math.Round(peak * 0.5 / 100) * 100);
        results.Info["latencyRate"] = rate.ToString(CultureInfo.InvariantCulture);
        results.Info["latencyRateBasis"] = $"50% of {(peakServer == "ours" ? "our engine's" : "Kestrel's (ours not available)")} median peak {Format.Number(peak)} msg/s at 100 conns/16 B, window 1";
        var spec = new EchoSpec(100, 16, 1, rate, options.Warmup, options.LatencyMeasure);
        Progress($"[latency] 100 conns, 16 B, open loop at {rate:N0} msg/s ({results.Info["latencyRateBasis"]}), measured from intended send time");
        for (var rep = 0; rep < options.Repetitions; rep++)
        {
            foreach (var server in Order(servers, withRaw: true))
            {
                var m = EchoScenario.Run(server, TargetOf(server), spec, options.Loops);
                var name = server.Kind.Name;
                foreach (var (label, p) in Percentiles)
                {
                    results.Add(Latency, spec.Cell, label, "µs", false, name, m.LatencyMicros(p));
                }
                results.Add(Latency, spec.Cell, "achieved messages/s", "msg/s", true, name, m.PerSecond);
                results.Add(Latency, spec.Cell, "messages per server CPU-s", "msg/CPU-s", true, name, m.PerServerCpuSecond);
                results.Add(Latency, spec.Cell, "unanswered in window", "msgs", false, name, m.Unanswered);
                CheckRun(server, "latency", m);
                if (m.Unanswered > 0)
                {
                    results.Note($"{server.Kind.Label}: latency rep {rep + 1}: {m.Unanswered:N0} in-window messages unanswered a second after the window");
                }
                Progress($"  [latency] {server.Kind.Label,-14} rep {rep + 1}: p50 {Format.Number(m.LatencyMicros(50))} µs  p99 {Format.Number(m.LatencyMicros(99))} µs  " +
                    $"p99.9 {Format.Number(m.LatencyMicros(99.9))} µs  max {Format.Number(m.LatencyMicros(100))} µs  ({Format.Number(m.PerSecond)} msg/s achieved)");
                Thread.Sleep(200);
            }
        }
    }

    private static readonly (string Label, double Percentile)[] Percentiles = [("p50", 50), ("p99", 99), ("p99.9", 99.9), ("max", 100)];

    private void RunBroadcast(Dictionary<string, ServerProcess> servers)
    {
        foreach (var subscribers in options.BroadcastSubscribers)
        {
            var cell = $"1 publisher → {subscribers:N0} subscribers, 32 B";
            Progress($"[broadcast] {cell}, {BroadcastScenario.Window} messages unfinished at most");
            for (var rep = 0; rep < options.Repetitions; rep++)
            {
                foreach (var server in Order(servers, withRaw: false))
                {
                    var m = BroadcastScenario.Run(server, TargetOf(server), subscribers, options.Warmup, options.Measure);
                    var name = server.Kind.Name;
                    results.Add(Broadcast, cell, "deliveries/s", "msg/s", true, name, m.PerSecond);
                    results.Add(Broadcast, cell, "deliveries per server CPU-s", "msg/CPU-s", true, name, m.PerServerCpuSecond);
                    foreach (var (label, p) in Percentiles)
                    {
                        results.Add(Broadcast, cell, "publish→receive " + label, "µs", false, name, m.LatencyMicros(p));
                    }
                    results.Add(Broadcast, cell, "server allocated B/delivery", "B", false, name, m.AllocatedPerMessage);
                    results.Add(Broadcast, cell, "deliveries missed", "msgs", false, name, m.Unanswered);
                    CheckRun(server, "broadcast " + cell, m);
                    if (m.Unanswered > 0)
                    {
                        results.Note($"{server.Kind.Label}: broadcast {cell}, rep {rep + 1}: {m.Unanswered:N0} deliveries never arrived within 2 s (given up on)");
                    }
                    Progress($"  [broadcast] {subscribers,6} subs {server.Kind.Label,-14} rep {rep + 1}: {Format.Number(m.PerSecond),12} deliveries/s " +
                        $"{Format.Number(m.PerServerCpuSecond),12} /CPU-s  p50 {Format.Number(m.LatencyMicros(50))} µs  p99 {Format.Number(m.LatencyMicros(99))} µs  missed {m.Unanswered}");
                    Thread.Sleep(500);
                }
            }
        }
    }

    private void RunScale()
    {
        foreach (var n in options.ScaleConnections)
        {
            var cell = $"{n:N0} idle connections";
            Progress($"[scale] {cell}, fresh server each time, clients in {(n + 7999) / 8000} worker processes");
            for (var rep = 0; rep < options.Repetitions; rep++)
            {
                foreach (var kind in options.Servers.Where(k => k.AllScenarios || k.Idle))
                {
                    using var server = TryStart(kind, broadcast: false);
                    if (server is null)
                    {
                        continue;
                    }
                    var o = ScaleScenario.Run(server, n, ref scaleIndex);
                    results.Add(Scale, cell, "time to open", "s", false, kind.Name, o.OpenSeconds);
                    results.Add(Scale, cell, "connections opened/s", "conn/s", true, kind.Name, o.Opened / o.OpenSeconds);
                    results.Add(Scale, cell, "server RSS per connection", "B", false, kind.Name, o.RssPerConnection);
                    results.Add(Scale, cell, "server anonymous RSS per connection", "B", false, kind.Name, o.AnonRssPerConnection);
                    results.Add(Scale, cell, "managed heap per connection", "B", false, kind.Name, o.HeapPerConnection);
                    results.Add(Scale, cell, "failed to open", "conns", false, kind.Name, o.Failed);
                    if (o.Failed > 0 || o.Error is not null)
                    {
                        results.Note($"{kind.Label}: scale {cell}: {o.Failed} of {n} failed to open; {o.Error}");
                    }
                    if (o.ServerConnections >= 0 && o.ServerConnections < o.Opened)
                    {
                        results.Note($"{kind.Label}: scale {cell}: /stats counted {o.ServerConnections} connections while {o.Opened} were open");
                    }
                    Progress($"  [scale] {n,6} {kind.Label,-14} rep {rep + 1}: opened {o.Opened} (failed {o.Failed}) in {o.OpenSeconds:0.00} s, " +
                        $"RSS {Format.Number(o.RssPerConnection)} B/conn, heap {Format.Number(o.HeapPerConnection)} B/conn, server counts {o.ServerConnections}");
                }
            }
        }
    }

    private void RunChurn(Dictionary<string, ServerProcess> servers)
    {
        var cell = $"connect → handshake → close, {options.ChurnThreads} client threads";
        Progress($"[churn] {cell}");
        for (var rep = 0; rep < options.Repetitions; rep++)
        {
            foreach (var server in Order(servers, withRaw: true))
            {
                var m = ChurnScenario.Run(server, TargetOf(server), options.ChurnThreads, options.Warmup, options.Measure);
                var name = server.Kind.Name;
                results.Add(Churn, cell, "cycles/s", "cycles/s", true, name, m.PerSecond);
                results.Add(Churn, cell, "cycles per server CPU-s", "cycles/CPU-s", true, name, m.PerServerCpuSecond);
                results.Add(Churn, cell, "server allocated B/cycle", "B", false, name, m.AllocatedPerMessage);
                var phaseText = "";
                if (m.Phases is { } phases)
                {
                    string[] names = ["TCP connect", "upgrade (request → 101)", "Close → server's Close", "server's Close → server's FIN"];
                    for (var i = 0; i < names.Length; i++)
                    {
                        if (!server.Kind.WebSocket && i is 1 or 3)
                        {
                            continue;
                        }
                        results.Add(Churn, cell, names[i] + " p50", "µs", false, name, Measurement.Micros(phases[i], 50));
                        results.Add(Churn, cell, names[i] + " p99", "µs", false, name, Measurement.Micros(phases[i], 99));
                        phaseText += $" {names[i].Split(' ')[0]} {Format.Number(Measurement.Micros(phases[i], 50))}/{Format.Number(Measurement.Micros(phases[i], 99))}";
                    }
                }
                CheckRun(server, "churn", m);
                Progress($"  [churn] {server.Kind.Label,-14} rep {rep + 1}: {Format.Number(m.PerSecond),10} cycles/s {Format.Number(m.PerServerCpuSecond),10} /CPU-s  server {m.ServerCpuUse:0.00} / gen {m.ClientCpuUse:0.00} cores; p50/p99 µs:{phaseText}");
                Thread.Sleep(1000);
            }
        }
    }

    private void CheckRun(ServerProcess server, string what, Measurement m)
    {
        if (m.Failed > 0 || m.Error is not null)
        {
            results.Note($"{server.Kind.Label}: {what}: {m.Failed} connection(s) failed; first error: {m.Error}");
        }
        if (m.Messages == 0)
        {
            results.Note($"{server.Kind.Label}: {what}: nothing measured (0 messages in the window)");
        }
        if (server.HasExited)
        {
            results.Note($"{server.Kind.Label}: exited during {what}: {server.LogTail()}");
        }
    }

    public static void Progress(string line)
    {
        Console.WriteLine($"{DateTime.Now:HH:mm:ss} {line}");
    }

    internal static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}
