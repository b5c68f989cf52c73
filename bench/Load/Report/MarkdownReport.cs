using System.Text;

namespace Load.Report;

/// <summary>The side-by-side tables: median (min–max) per server, the ours/Kestrel ratio, and the raw TCP ceiling.</summary>
internal static class MarkdownReport
{
    public static string Render(ResultSet results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Load benchmark: our engine vs Kestrel");
        sb.AppendLine();
        foreach (var (k, v) in results.Info)
        {
            sb.AppendLine($"- {k}: {v}");
        }
        sb.AppendLine();
        sb.AppendLine("Each cell is the median of the repetitions with the spread (min–max) beside it; ratio = ours / Kestrel of the medians. " +
            "Throughput is noisy on a shared 2-core box; the per-server-CPU-second figures (server utime+stime over the window) are the steadier ones. " +
            "The raw TCP echo (no WebSocket work, same process model) is the generator's ceiling, measured in each repetition like the servers.");
        sb.AppendLine();

        Headline(sb, results);
        Ceiling(sb, results);

        foreach (var scenario in results.Rows.Select(r => r.Scenario).Distinct())
        {
            sb.AppendLine($"## {char.ToUpperInvariant(scenario[0])}{scenario[1..]}");
            sb.AppendLine();
            // Our Host on the portable .NET sockets transport, where it was measured (echo, latency, broadcast), and its
            // JIT build beside the Native AOT one (idle memory).
            string[] more = new[] { "sockets", "jit" }.Where(kind => results.Rows.Any(r => r.Scenario == scenario && r.Samples.ContainsKey(kind))).ToArray();
            string moreHeader = string.Concat(more.Select(kind => kind == "sockets" ? " ours (sockets) |" : " ours (JIT) |"));
            // Engine.AspNetCore (--aspnet): the engine behind Kestrel and Kestrel's middleware in the same app, after the rest.
            string[] aspnet = results.Rows.Any(r => r.Scenario == scenario && r.Samples.ContainsKey("aspnet")) ? ["aspnet", "aspnet-kestrel"] : [];
            string aspnetHeader = aspnet.Length == 0 ? "" : " ours (ASP.NET Core) | Kestrel (same app) |";
            sb.AppendLine($"| case | metric | ours |{moreHeader} Kestrel | ours/Kestrel | raw TCP echo |{aspnetHeader}");
            sb.AppendLine("|---|---|---:|" + string.Concat(more.Select(_ => "---:|")) + "---:|---:|---:|" + string.Concat(aspnet.Select(_ => "---:|")));
            foreach (var row in results.Rows.Where(r => r.Scenario == scenario))
            {
                var better = row.HigherIsBetter ? "" : " (lower is better)";
                var extra = string.Concat(more.Select(kind => $" {Cell(row, kind)} |"));
                var hosted = string.Concat(aspnet.Select(kind => $" {Cell(row, kind)} |"));
                sb.AppendLine($"| {row.Cell} | {row.Metric}{better} | {Cell(row, "ours")} |{extra} {Cell(row, "kestrel")} | {Ratio(row)} | {Cell(row, "tcp")} |{hosted}");
            }
            sb.AppendLine();
        }

        sb.AppendLine("## Notes");
        sb.AppendLine();
        if (results.Notes.Count == 0)
        {
            sb.AppendLine("No failures, errors or missed messages were recorded.");
        }
        foreach (var note in results.Notes)
        {
            sb.AppendLine($"- {note}");
        }
        return sb.ToString();
    }

    private static void Headline(StringBuilder sb, ResultSet results)
    {
        (string Scenario, string CellStart, string Metric)[] picks =
        [
            ("echo throughput", "100 conns, 16 B, window 1", "messages/s"),
            ("echo throughput", "100 conns, 16 B, window 1", "messages per server CPU-s"),
            ("echo throughput", "100 conns, 16 B, window 16", "messages/s"),
            ("echo throughput", "100 conns, 16 B, window 16", "messages per server CPU-s"),
            ("echo throughput", "1000 conns, 64 KiB, window 1", "MB/s (payload, one way)"),
            ("echo throughput", "100 conns, 16 B, window 16", "server allocated B/message"),
            ("latency at fixed rate", "", "p99"),
            ("latency at fixed rate", "", "p99.9"),
            ("broadcast fan-out", "", "deliveries/s"),
            ("connection scale", "", "server RSS per connection"),
            ("churn", "", "cycles/s"),
        ];
        var rows = new List<ResultRow>();
        foreach (var (scenario, cellStart, metric) in picks)
        {
            rows.AddRange(results.Rows.Where(r => r.Scenario == scenario && r.Metric == metric && r.Cell.StartsWith(cellStart, StringComparison.Ordinal)));
        }
        if (rows.Count == 0)
        {
            return;
        }
        sb.AppendLine("## Headline");
        sb.AppendLine();
        sb.AppendLine("| scenario | case | metric | ours | Kestrel | ours/Kestrel |");
        sb.AppendLine("|---|---|---|---:|---:|---:|");
        foreach (var row in rows.Distinct())
        {
            var better = row.HigherIsBetter ? "" : " (lower is better)";
            sb.AppendLine($"| {row.Scenario} | {row.Cell} | {row.Metric}{better} | {Format.Number(row.Median("ours"))} | {Format.Number(row.Median("kestrel"))} | {Ratio(row)} |");
        }
        sb.AppendLine();
    }

    private static void Ceiling(StringBuilder sb, ResultSet results)
    {
        var rows = results.Rows.Where(r => r.Scenario == "echo throughput" && r.Metric == "messages/s" && r.Samples.ContainsKey("tcp")).ToList();
        if (rows.Count == 0)
        {
            return;
        }
        sb.AppendLine("## Generator ceiling (raw TCP echo)");
        sb.AppendLine();
        sb.AppendLine("The same generator against an echo server that does no WebSocket work. Headroom = raw TCP msg/s ÷ the faster WebSocket server's median; " +
            "above 1 the WebSocket servers, not the generator, set the pace. CPU figures are each process's utime+stime per second of the window (the generator has CPU 1, the server CPU 0; " +
            "other work on the shared box takes the rest, and ping-pong cases wait on loopback round trips rather than on either core).");
        sb.AppendLine();
        sb.AppendLine("| case | raw TCP msg/s | fastest WebSocket msg/s | headroom | generator CPU vs raw TCP | generator CPU vs ours / Kestrel | server CPU ours / Kestrel | limited by |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            var tcp = row.Median("tcp");
            var best = Math.Max(Nan0(row.Median("ours")), Nan0(row.Median("kestrel")));
            var cpu = results.Find(row.Scenario, row.Cell, "generator CPU use");
            var wsCpu = cpu is null ? "–" : $"{Format.Number(cpu.Median("ours"))} / {Format.Number(cpu.Median("kestrel"))}";
            var serverCpu = results.Find(row.Scenario, row.Cell, "server CPU use");
            var srvCpu = serverCpu is null ? "–" : $"{Format.Number(serverCpu.Median("ours"))} / {Format.Number(serverCpu.Median("kestrel"))}";
            sb.AppendLine($"| {row.Cell} | {Format.Number(tcp)} | {Format.Number(best)} | {Format.Number(best > 0 ? tcp / best : double.NaN)}× | {Format.Number(cpu?.Median("tcp") ?? double.NaN)} | {wsCpu} | {srvCpu} | {LimitedBy(cpu, serverCpu)} |");
        }
        var latency = results.Rows.FirstOrDefault(r => r.Scenario == "latency at fixed rate" && r.Metric == "p99" && r.Samples.ContainsKey("tcp"));
        if (latency is not null)
        {
            sb.AppendLine();
            sb.AppendLine($"Latency floor of the generator (raw TCP echo at the same offered rate): p99 {Format.Number(latency.Median("tcp"))} µs.");
        }
        sb.AppendLine();
    }

    /// <summary>A rough reading of the CPU figures: a process using 0.9 of its core or more is the one setting the pace.</summary>
    private static string LimitedBy(ResultRow? generatorCpu, ResultRow? serverCpu)
    {
        var parts = new List<string>();
        foreach (var (server, label) in new[] { ("ours", "ours"), ("kestrel", "Kestrel") })
        {
            var gen = generatorCpu?.Median(server) ?? double.NaN;
            var srv = serverCpu?.Median(server) ?? double.NaN;
            if (double.IsNaN(gen) && double.IsNaN(srv))
            {
                continue;
            }
            var by = gen >= 0.9 ? "generator" : srv >= 0.9 ? "server" : "neither core full: round trips / shared box";
            parts.Add($"{label}: {by}");
        }
        return parts.Count == 0 ? "–" : string.Join("; ", parts);
    }

    private static double Nan0(double v) => double.IsNaN(v) ? 0 : v;

    private static string Cell(ResultRow row, string server)
    {
        if (!row.Samples.TryGetValue(server, out var list) || list.Count == 0)
        {
            return "–";
        }
        var median = Format.Number(row.Median(server));
        return list.Count(v => !double.IsNaN(v)) > 1 ? $"{median} ({Format.Number(row.Min(server))}–{Format.Number(row.Max(server))})" : median;
    }

    private static string Ratio(ResultRow row)
    {
        var r = row.RatioOf("ours", "kestrel");
        return r switch
        {
            _ when !double.IsFinite(r) => "–",
            < 0.001 => "< 0.001",
            < 0.1 => r.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture),
            _ => r.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
