using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Soak;

/// <summary>Writes soak.json (every sample and check), soak.md (summary) and soak.svg (the four series over time).</summary>
internal static class Report
{
    public static void Write(SoakResult result, string directory)
    {
        File.WriteAllText(Path.Combine(directory, "soak.json"), JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true, IncludeFields = false }));
        File.WriteAllText(Path.Combine(directory, "soak.md"), Markdown(result));
        File.WriteAllText(Path.Combine(directory, "soak.svg"), Svg(result));
    }

    private static string Markdown(SoakResult r)
    {
        var md = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        md.AppendLine(c, $"# Soak: {(r.Verdict.Passed ? "PASSED" : "FAILED")}");
        md.AppendLine();
        md.AppendLine(c, $"{r.LoadSeconds:F0} s of load against the Host (app mode) on {r.Cpus} CPUs, finished {r.FinishedUtc:yyyy-MM-dd HH:mm} UTC; " +
            $"a sample every {r.SampleSeconds:F0} s; warm-up {r.Verdict.WarmupSeconds:F0} s. Command: `dotnet run -c Release --project bench/Soak -- --duration {r.DurationSeconds:F0}s`.");
        md.AppendLine();
        md.AppendLine("| traffic | total | per second |");
        md.AppendLine("|---|---|---|");
        md.AppendLine(c, $"| echo (ping → pong request/response) | {r.Echoes:N0} | {r.Echoes / r.LoadSeconds:F0} |");
        md.AppendLine(c, $"| broadcast: published | {r.Published:N0} | {r.Published / r.LoadSeconds:F0} |");
        md.AppendLine(c, $"| broadcast: delivered to subscribers | {r.Delivered:N0} | {r.Delivered / r.LoadSeconds:F0} |");
        md.AppendLine(c, $"| churn: connect, join, publish, leave (1 in 5 abruptly) | {r.ChurnCycles:N0} | {r.ChurnCycles / r.LoadSeconds:F1} |");
        md.AppendLine(c, $"| client errors | {r.ClientErrors} | |");
        md.AppendLine();
        Sample first = r.Samples[0];
        Sample peak = new(0, r.Samples.Max(s => s.RssBytes), r.Samples.Max(s => s.Threads), r.Samples.Max(s => s.OpenHandles), r.Samples.Max(s => s.ManagedHeap), r.Samples.Max(s => s.Connections), r.Samples.Max(s => s.OutstandingBuffers), 0);
        md.AppendLine("| server | before load | peak | end (all clients gone) |");
        md.AppendLine("|---|---|---|---|");
        md.AppendLine(c, $"| RSS | {Mib(first.RssBytes)} | {Mib(peak.RssBytes)} | {Mib(r.Final.RssBytes)} |");
        md.AppendLine(c, $"| managed heap | {Mib(first.ManagedHeap)} | {Mib(peak.ManagedHeap)} | {Mib(r.Final.ManagedHeap)} |");
        md.AppendLine(c, $"| open handles (/proc/PID/fd) | {first.OpenHandles} | {peak.OpenHandles} | {r.Final.OpenHandles} |");
        md.AppendLine(c, $"| threads | {first.Threads} | {peak.Threads} | {r.Final.Threads} |");
        md.AppendLine(c, $"| WebSocket connections | {first.Connections} | {peak.Connections} | {r.Final.Connections} |");
        md.AppendLine(c, $"| pooled blocks outstanding | {first.OutstandingBuffers} | {peak.OutstandingBuffers} | {r.Final.OutstandingBuffers} |");
        md.AppendLine();
        md.AppendLine("| check | result | detail |");
        md.AppendLine("|---|---|---|");
        foreach (Check check in r.Verdict.Checks)
        {
            md.AppendLine(c, $"| {check.Name} | {(check.Passed ? "pass" : "**FAIL**")} | {check.Detail} |");
        }
        md.AppendLine();
        md.AppendLine("![soak](soak.svg)");
        return md.ToString();
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB";

    private static string Svg(SoakResult r)
    {
        (string Title, Func<Sample, double> Value, string Unit)[] panels =
        [
            ("RSS", s => s.RssBytes / 1048576.0, "MiB"),
            ("managed heap", s => s.ManagedHeap / 1048576.0, "MiB"),
            ("open handles", s => s.OpenHandles, ""),
            ("threads", s => s.Threads, ""),
        ];
        const int width = 900, panelHeight = 170, left = 60, right = 20, top = 40;
        var c = CultureInfo.InvariantCulture;
        var svg = new StringBuilder();
        int height = top + (panels.Length * panelHeight) + 20;
        svg.AppendLine(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine(c, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        svg.AppendLine(c, $"<text x=\"{left}\" y=\"22\" font-size=\"14\">Soak {(r.Verdict.Passed ? "passed" : "FAILED")}: {r.LoadSeconds:F0} s of churn + echo + broadcast. Shaded: warm-up; dashed: middle/last-third medians</text>");
        double maxX = Math.Max(1, r.Samples.Max(s => s.Seconds));
        double warm = r.Verdict.WarmupSeconds;
        Sample[] steady = r.Samples.Where(s => s.Seconds >= warm).ToArray();
        int third = steady.Length / 3;
        for (int p = 0; p < panels.Length; p++)
        {
            var (title, value, unit) = panels[p];
            int y0 = top + (p * panelHeight);
            int plotTop = y0 + 20, plotBottom = y0 + panelHeight - 25;
            double maxY = Math.Max(1e-9, r.Samples.Max(value)) * 1.15;
            double X(double seconds) => left + ((width - left - right) * seconds / maxX);
            double Y(double v) => plotBottom - ((plotBottom - plotTop) * v / maxY);
            svg.AppendLine(c, $"<text x=\"{left}\" y=\"{y0 + 14}\" font-weight=\"bold\">{title}{(unit.Length > 0 ? $" ({unit})" : "")}</text>");
            svg.AppendLine(c, $"<rect x=\"{left}\" y=\"{plotTop}\" width=\"{X(Math.Min(warm, maxX)) - left:F1}\" height=\"{plotBottom - plotTop}\" fill=\"#eee\"/>");
            svg.AppendLine(c, $"<line x1=\"{left}\" y1=\"{plotBottom}\" x2=\"{width - right}\" y2=\"{plotBottom}\" stroke=\"#888\"/>");
            svg.AppendLine(c, $"<line x1=\"{left}\" y1=\"{plotTop}\" x2=\"{left}\" y2=\"{plotBottom}\" stroke=\"#888\"/>");
            svg.AppendLine(c, $"<text x=\"{left - 6}\" y=\"{plotTop + 4}\" text-anchor=\"end\">{maxY:G4}</text>");
            svg.AppendLine(c, $"<text x=\"{left - 6}\" y=\"{plotBottom + 4}\" text-anchor=\"end\">0</text>");
            svg.AppendLine(c, $"<text x=\"{width - right}\" y=\"{plotBottom + 16}\" text-anchor=\"end\">{maxX:F0} s</text>");
            string points = string.Join(' ', r.Samples.Select(s => $"{X(s.Seconds):F1},{Y(value(s)):F1}"));
            svg.AppendLine(c, $"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{points}\"/>");
            if (third > 0)
            {
                Sample[] middle = steady[third..(2 * third)];
                Sample[] last = steady[(steady.Length - third)..];
                double mm = Analysis.Median(middle.Select(value)), lm = Analysis.Median(last.Select(value));
                svg.AppendLine(c, $"<line x1=\"{X(middle[0].Seconds):F1}\" y1=\"{Y(mm):F1}\" x2=\"{X(middle[^1].Seconds):F1}\" y2=\"{Y(mm):F1}\" stroke=\"#2ca02c\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>");
                svg.AppendLine(c, $"<line x1=\"{X(last[0].Seconds):F1}\" y1=\"{Y(lm):F1}\" x2=\"{X(last[^1].Seconds):F1}\" y2=\"{Y(lm):F1}\" stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>");
            }
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }
}
