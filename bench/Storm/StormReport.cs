using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Storm;

/// <summary>Writes storm.json (every sample, probe and client result) and storm.md (the summary and the verdict).</summary>
internal static class StormReport
{
    public static void Write(StormResult result, string directory)
    {
        File.WriteAllText(Path.Combine(directory, "storm.json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(directory, "storm.md"), Markdown(result));
    }

    private static string Markdown(StormResult r)
    {
        var md = new StringBuilder();
        CultureInfo c = CultureInfo.InvariantCulture;
        StormOptions o = r.Options;
        md.AppendLine(c, $"# Connection storm: {(r.Passed ? "PASSED" : "FAILED")}");
        md.AppendLine();
        md.AppendLine(c, $"{o.Connections:N0} connection slots over {o.Clients} client processes against the Host (echo mode, transport `{o.Transport}`, " +
            $"heartbeat every {o.Heartbeat.TotalMilliseconds:F0} ms) for {r.StormSeconds:F0} s on {Environment.ProcessorCount} CPUs, " +
            $"finished {r.FinishedUtc:yyyy-MM-dd HH:mm} UTC. " +
            $"Slots start at random times over the first {o.Ramp.TotalMilliseconds:F0} ms; then each cycles as fast as it can: connect, upgrade, one echo, hold 0-{o.HoldMax.TotalMilliseconds:F0} ms (answering pings), then a clean 1000 close " +
            $"or ({o.ResetFraction:P0}) a reset. A fresh client every {o.ProbeEvery.TotalMilliseconds:F0} ms times connect + upgrade + echo. " +
            $"Server CPUs: {o.ServerCpus ?? "any"}, client CPUs: {o.ClientCpus ?? "any"}; probe and sampler at nice {o.RunNice}, server and clients at 0. Load average (/proc/loadavg) before / after: {r.LoadBefore} / {r.LoadAfter}. " +
            $"Command: `{r.Command}`.");
        md.AppendLine();
        long clean = r.Clients.Sum(x => x.CleanCloses), resets = r.Clients.Sum(x => x.Resets), ended = r.Clients.Sum(x => x.ServerEnded);
        long failed = r.Clients.Sum(x => x.Failed), pongs = r.Clients.Sum(x => x.Pongs);
        double s = r.StormSeconds;
        md.AppendLine("| storm | total | per second |");
        md.AppendLine("|---|---|---|");
        md.AppendLine(c, $"| connections opened (upgraded, echoed) | {r.Opened:N0} | {r.Opened / s:F0} |");
        md.AppendLine(c, $"| closed: clean 1000 close handshake | {clean:N0} | {clean / s:F0} |");
        md.AppendLine(c, $"| closed: reset (SO_LINGER 0) | {resets:N0} | {resets / s:F0} |");
        md.AppendLine(c, $"| closed by the server (not asked for) | {ended:N0} | |");
        md.AppendLine(c, $"| client cycles failed | {failed:N0} | |");
        md.AppendLine(c, $"| heartbeat pings answered | {pongs:N0} | {pongs / s:F0} |");
        long dropped = r.Final.ListenOverflows - r.Idle.ListenOverflows;
        md.AppendLine(c, $"| SYNs dropped on a full accept queue (TcpExt ListenOverflows, whole network namespace) | {dropped:N0} | {dropped / s:F0} |");
        if (r.Final.AllocatedBytes >= 0 && r.Idle.AllocatedBytes >= 0 && r.Opened > 0)
        {
            // What the GC has to clean up after each connection (everything the server allocated, over the connections).
            md.AppendLine(c, $"| server bytes allocated per connection opened | {(r.Final.AllocatedBytes - r.Idle.AllocatedBytes) / (double)r.Opened:N0} | |");
        }
        md.AppendLine();
        double[] times = [.. r.Probes.Select(p => p.Ms).Order()];
        md.AppendLine("| fresh client (connect + upgrade + echo) | value |");
        md.AppendLine("|---|---|");
        md.AppendLine(c, $"| probes | {times.Length} ({r.Probes.Count(p => p.Error is not null)} failed) |");
        md.AppendLine(c, $"| median | {Percentile(times, 0.50):F1} ms |");
        md.AppendLine(c, $"| p99 | {Percentile(times, 0.99):F1} ms |");
        md.AppendLine(c, $"| max | {(times.Length == 0 ? 0 : times[^1]):F1} ms |");
        md.AppendLine(c, $"| over {o.ProbeBound.TotalMilliseconds:F0} ms | {times.Count(t => t >= o.ProbeBound.TotalMilliseconds)} |");
        md.AppendLine();
        md.AppendLine("| server | idle (before) | peak | end (all clients gone) | left behind |");
        md.AppendLine("|---|---|---|---|---|");
        Row(md, "descriptors (/proc/PID/fd)", r, x => x.Descriptors, x => x.ToString("N0", c));
        Row(md, "of which sockets", r, x => x.Sockets, x => x.ToString("N0", c));
        Row(md, "WebSocket connections", r, x => x.Connections, x => x.ToString("N0", c));
        Row(md, "pooled blocks outstanding", r, x => x.Blocks, x => x.ToString("N0", c));
        Row(md, "timer-wheel entries", r, x => x.Timers, x => x.ToString("N0", c));
        Row(md, "thread-pool queue", r, x => x.PoolQueue, x => x.ToString("N0", c));
        Row(md, "GC pause time so far", r, x => (long)Math.Round(x.GcPauseSeconds * 1000), x => x.ToString("N0", c) + " ms");
        Row(md, "gen2 collections so far", r, x => x.Gen2Collections, x => x.ToString("N0", c));
        Row(md, "bytes allocated so far", r, x => x.AllocatedBytes, x => (x / 1048576.0).ToString("N0", c) + " MiB");
        Row(md, "threads", r, x => x.Threads, x => x.ToString("N0", c));
        Row(md, "RSS", r, x => x.RssBytes, x => (x / 1048576.0).ToString("F1", c) + " MiB");
        md.AppendLine();
        md.AppendLine("Idle and end are read after every client has gone; the one or two idle timer-wheel entries and the few idle sockets are the " +
            "listener and the sampler's own `/stats` and `/metrics` requests (an HTTP request is a connection with a handshake deadline while it is served).");
        md.AppendLine();
        md.AppendLine("| check | result | detail |");
        md.AppendLine("|---|---|---|");
        foreach (Check check in r.Checks)
        {
            md.AppendLine(c, $"| {check.Name} | {(check.Passed ? "pass" : "**FAIL**")} | {check.Detail} |");
        }
        string[] errors = [.. r.Clients.SelectMany(x => x.Errors).Take(6)];
        if (errors.Length > 0)
        {
            md.AppendLine();
            md.AppendLine("Client errors (first few, with their time into the storm):");
            md.AppendLine();
            foreach (string error in errors)
            {
                md.AppendLine(c, $"- `{error}`");
            }
        }
        return md.ToString();
    }

    private static void Row(StringBuilder md, string name, StormResult r, Func<ServerSample, long> value, Func<long, string> format)
    {
        long[] sampled = [.. r.Samples.Select(value).Where(v => v >= 0)];
        string peak = sampled.Length == 0 ? "not sampled" : format(sampled.Max());
        long left = value(r.Final) - value(r.Idle);
        string leftBehind = name is "RSS" or "threads" or "thread-pool queue" or "GC pause time so far" or "gen2 collections so far" or "bytes allocated so far" ? "" : left.ToString("+0;-0;0", CultureInfo.InvariantCulture);
        md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {format(value(r.Idle))} | {peak} | {format(value(r.Final))} | {leftBehind} |");
    }

    private static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}
