using System.Globalization;
using System.Text;
using System.Text.Json;
using CrossNode.Setups;

namespace CrossNode.Report;

/// <summary>
/// crossnode.md (tables: median and min–max of the repetitions per setup, and each setup's ratio to the single node)
/// and crossnode.json (every sample, the same ratios, the setups' status).
/// </summary>
internal sealed class CrossNodeReport(ResultSet results, IReadOnlyList<(SetupSpec Spec, string? SkipReason)> setups, TrialOptions options)
{
    /// <summary>Metrics whose ratio to the single node is tabled (the rest are context: CPU, misses, achieved rate).</summary>
    private static readonly HashSet<string> Compared = ["p50", "p99", "p99.9", "max", "deliveries/s", "deliveries per server CPU-s",
        "publish→receive p50 at saturation", "publish→receive p99 at saturation"];

    private IEnumerable<SetupSpec> Measured => setups.Select(s => s.Spec).Where(s => results.Rows.Any(r => r.Samples.ContainsKey(s.Name)));

    private string Status(SetupSpec spec, string? skipReason)
    {
        var measured = results.Rows.Where(r => r.Samples.ContainsKey(spec.Name)).Select(r => r.Samples[spec.Name].Count).DefaultIfEmpty(0).Max();
        return (measured, skipReason) switch
        {
            (0, { } why) => "skipped: " + why,
            (0, null) => "failed: no repetition completed (see the notes)",
            (_, { } why) => $"measured in {measured} repetition(s), then stopped: {why}",
            _ => $"measured ({measured} repetition(s))",
        };
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Cross-node delivery: one node vs two nodes through Redis and NATS");
        sb.AppendLine();
        foreach (var (k, v) in results.Info)
        {
            sb.AppendLine($"- {k}: {v}");
        }
        sb.AppendLine();
        sb.AppendLine("**Shared box.** These figures come from a 2-core machine that other agents were building and testing on while the " +
            "benchmark ran, so absolute numbers move from run to run. The setups ran interleaved (each once per repetition), so the " +
            "ratios to the single node and the deliveries per server CPU-second are the figures to trust; each cell is the median " +
            "of the repetitions with the spread (min–max) beside it.");
        sb.AppendLine();
        sb.AppendLine("How: the Host (`src/Host`, app mode, JSON `message`s) is the server. Single node: publisher and subscribers on " +
            "one Host, no backplane. Two nodes: the publisher on node A, every subscriber on node B, the nodes sharing channels " +
            "through the broker (`WS_BACKPLANE`); history on = `WS_HISTORY_SIZE` as listed above. Host nodes and brokers share CPU 0, " +
            "the generator (one epoll thread) has CPU 1. Each message's content (64 bytes) carries its sequence number and send " +
            "timestamp; the receiver reads them back. Latency: open loop at a fixed rate, each delivery timed from when its message " +
            "was *due* (coordinated omission corrected), in HdrHistogram. Throughput: closed loop keeping a window of messages " +
            "not yet received by every subscriber. CPU: each process's utime+stime over the window (cores); \"deliveries per server " +
            "CPU-s\" counts the nodes and the broker together (single node: \"node A\" is its one Host). In the two-node setups CPU 0 carries both nodes and the broker, so their " +
            "throughput is what one core sustains for the whole path, not what two machines would.");
        sb.AppendLine();

        Headline(sb);

        sb.AppendLine("## Setups");
        sb.AppendLine();
        sb.AppendLine("| setup | status |");
        sb.AppendLine("|---|---|");
        foreach (var (spec, skip) in setups)
        {
            sb.AppendLine($"| {spec.Label} | {Status(spec, skip)} |");
        }
        sb.AppendLine();

        foreach (var scenario in results.Rows.Select(r => r.Scenario).Distinct())
        {
            var rows = results.Rows.Where(r => r.Scenario == scenario).ToList();
            sb.AppendLine($"## {char.ToUpperInvariant(scenario[0])}{scenario[1..]}");
            sb.AppendLine();
            foreach (var cell in rows.Select(r => r.Cell).Distinct())
            {
                var cellRows = rows.Where(r => r.Cell == cell).ToList();
                sb.AppendLine($"Case: {cell}.");
                sb.AppendLine();
                sb.AppendLine("| setup | " + string.Join(" | ", cellRows.Select(r => $"{r.Metric} ({r.Unit})")) + " |");
                sb.AppendLine("|---|" + string.Concat(cellRows.Select(_ => "---:|")));
                foreach (var spec in Measured)
                {
                    sb.AppendLine($"| {spec.Label} | " + string.Join(" | ", cellRows.Select(r => Cell(r, spec.Name))) + " |");
                }
                sb.AppendLine();
                var compared = cellRows.Where(r => Compared.Contains(r.Metric)).ToList();
                if (compared.Count > 0)
                {
                    sb.AppendLine("Ratio to the single node (medians; above 1 = more than the single node):");
                    sb.AppendLine();
                    sb.AppendLine("| setup | " + string.Join(" | ", compared.Select(r => r.Metric)) + " |");
                    sb.AppendLine("|---|" + string.Concat(compared.Select(_ => "---:|")));
                    foreach (var spec in Measured.Where(s => s.Name != SetupSpec.SingleNode))
                    {
                        sb.AppendLine($"| {spec.Label} | " + string.Join(" | ", compared.Select(r => Ratio(r, spec.Name))) + " |");
                    }
                    sb.AppendLine();
                }
            }
        }

        sb.AppendLine("## Notes");
        sb.AppendLine();
        if (results.Notes.Count == 0)
        {
            sb.AppendLine("No failures, errors or missed deliveries were recorded.");
        }
        foreach (var note in results.Notes)
        {
            sb.AppendLine($"- {note}");
        }
        return sb.ToString();
    }

    /// <summary>The small table in docs/performance.md: setup, p50, p99, deliveries/s, and the ratios to the single node.</summary>
    private void Headline(StringBuilder sb)
    {
        var p50 = results.Find(Trial.Latency, options.LatencyCell, "p50");
        var p99 = results.Find(Trial.Latency, options.LatencyCell, "p99");
        var rate = results.Find(Trial.Throughput, options.ThroughputCell, "deliveries/s");
        var perCpu = results.Find(Trial.Throughput, options.ThroughputCell, "deliveries per server CPU-s");
        if (p50 is null && rate is null)
        {
            return;
        }
        sb.AppendLine("## Headline");
        sb.AppendLine();
        sb.AppendLine($"Latency: {options.LatencyCell}. Throughput: {options.ThroughputCell}. Medians of the repetitions; " +
            "\"least disturbed\" is the lowest p50 any repetition saw, the closest this shared box comes to an idle one.");
        sb.AppendLine();
        sb.AppendLine("| setup | p50 | p99 | deliveries/s | deliveries per server CPU-s | p50 / single | p99 / single | deliveries/s / single | per CPU-s / single | least disturbed p50 |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var spec in Measured)
        {
            var best = p50?.Min(spec.Name) ?? double.NaN;
            sb.AppendLine($"| {spec.Label} | {Micros(p50, spec.Name)} | {Micros(p99, spec.Name)} | {Median(rate, spec.Name)} | {Median(perCpu, spec.Name)} | " +
                $"{Ratio(p50, spec.Name)} | {Ratio(p99, spec.Name)} | {Ratio(rate, spec.Name)} | {Ratio(perCpu, spec.Name)} | {(double.IsNaN(best) ? "–" : Format.Number(best) + " µs")} |");
        }
        sb.AppendLine();
    }

    public string Json()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            ResultJson.WriteInfo(w, results);
            w.WriteStartArray("setups");
            foreach (var (spec, skip) in setups)
            {
                w.WriteStartObject();
                w.WriteString("name", spec.Name);
                w.WriteString("label", spec.Label);
                w.WriteString("status", Status(spec, skip));
                w.WriteBoolean("measured", Measured.Contains(spec));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("rows");
            foreach (var row in results.Rows)
            {
                w.WriteStartObject();
                ResultJson.WriteRowMeasurements(w, row, "setups", 3);
                w.WriteStartObject("ratioToSingleNode");
                foreach (var setup in row.Samples.Keys)
                {
                    ResultJson.Number(w, setup, row.RatioOf(setup, SetupSpec.SingleNode));
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            ResultJson.WriteNotes(w, results);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }


    private static string Cell(ResultRow row, string setup)
    {
        if (!row.Samples.TryGetValue(setup, out var list) || list.All(double.IsNaN))
        {
            return "–";
        }
        // Counts (missed deliveries) read as whole numbers, not "0.00".
        Func<double, string> number = row.Unit == "msgs" ? v => v.ToString("N0", CultureInfo.InvariantCulture) : Format.Number;
        var median = number(row.Median(setup));
        return list.Count(v => !double.IsNaN(v)) > 1 ? $"{median} ({number(row.Min(setup))}–{number(row.Max(setup))})" : median;
    }

    private static string Median(ResultRow? row, string setup) => row is null ? "–" : Format.Number(row.Median(setup));

    private static string Micros(ResultRow? row, string setup) => row is null || double.IsNaN(row.Median(setup)) ? "–" : Format.Number(row.Median(setup)) + " µs";

    private static string Ratio(ResultRow? row, string setup)
    {
        var r = row?.RatioOf(setup, SetupSpec.SingleNode) ?? double.NaN;
        return double.IsFinite(r) ? r.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "–";
    }
}
