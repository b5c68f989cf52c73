using System.Globalization;
using System.Net;
using System.Text;

namespace Load.Report;

/// <summary>
/// A hand-written SVG with two panels on log scales: echo throughput per case, and latency percentiles at the fixed
/// offered rate. Bars are medians; the thin whiskers span min–max of the repetitions.
/// </summary>
internal static class SvgChart
{
    private static readonly (string Server, string Label, string Colour)[] Series =
    [
        ("ours", "ours (Host)", "#2b7bb9"),
        ("kestrel", "Kestrel", "#e07b39"),
        ("tcp", "raw TCP echo (ceiling)", "#9a9a9a"),
    ];

    private const int Width = 1100;
    private const int PanelHeight = 330;
    private const int Left = 80;
    private const int Right = 20;

    public static string Render(ResultSet results)
    {
        var throughput = results.Rows.Where(r => r.Scenario == "echo throughput" && r.Metric == "messages/s").ToList();
        var latency = results.Rows.Where(r => r.Scenario == "latency at fixed rate" && r.Metric is "p50" or "p99" or "p99.9" or "max").ToList();
        var broadcast = results.Rows.Where(r => r.Scenario == "broadcast fan-out" && r.Metric == "deliveries/s").ToList();
        var perCpu = results.Rows.Where(r => r.Scenario == "echo throughput" && r.Metric == "messages per server CPU-s").ToList();
        var sb = new StringBuilder();
        var height = 4 * PanelHeight + 60;
        sb.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n"));
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        var x = Left;
        foreach (var (_, label, colour) in Series)
        {
            sb.Append(Invariant($"<rect x=\"{x}\" y=\"12\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{x + 16}\" y=\"22\">{Escape(label)}</text>\n"));
            x += 200;
        }
        Panel(sb, 40, "Echo throughput, messages/s (log scale; higher is better)", throughput, r => ShortCase(r.Cell));
        Panel(sb, 40 + PanelHeight, "Echo messages per server CPU-second (the steadier figure on a shared box; log scale; higher is better)", perCpu, r => ShortCase(r.Cell));
        Panel(sb, 40 + 2 * PanelHeight, "Latency at fixed offered rate, 100 conns, 16 B, µs from intended send (log scale; lower is better)", latency, r => r.Metric);
        Panel(sb, 40 + 3 * PanelHeight, "Broadcast fan-out, deliveries/s (log scale; higher is better)", broadcast, r => r.Cell.Replace(", 32 B", "", StringComparison.Ordinal));
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void Panel(StringBuilder sb, int top, string title, List<ResultRow> rows, Func<ResultRow, string> label)
    {
        sb.Append(Invariant($"<text x=\"{Left}\" y=\"{top + 14}\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>\n"));
        var values = rows.SelectMany(r => r.Samples.Values.SelectMany(v => v)).Where(v => double.IsFinite(v) && v > 0).ToList();
        var plotTop = top + 24;
        var plotBottom = top + PanelHeight - 60;
        if (values.Count == 0)
        {
            sb.Append(Invariant($"<text x=\"{Left}\" y=\"{plotTop + 20}\">not measured in this run</text>\n"));
            return;
        }
        var lo = Math.Floor(Math.Log10(values.Min()));
        var hi = Math.Ceiling(Math.Log10(values.Max()));
        if (hi <= lo)
        {
            hi = lo + 1;
        }
        double Y(double v) => plotBottom - (Math.Log10(Math.Max(v, Math.Pow(10, lo))) - lo) / (hi - lo) * (plotBottom - plotTop);
        for (var d = lo; d <= hi; d++)
        {
            var y = Y(Math.Pow(10, d));
            sb.Append(Invariant($"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"#ddd\"/>"));
            sb.Append(Invariant($"<text x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{Escape(Tick(Math.Pow(10, d)))}</text>\n"));
        }
        sb.Append(Invariant($"<line x1=\"{Left}\" x2=\"{Left}\" y1=\"{plotTop}\" y2=\"{plotBottom}\" stroke=\"#333\"/>\n"));
        var groupWidth = (double)(Width - Left - Right) / rows.Count;
        var barWidth = Math.Min(28, groupWidth / (Series.Length + 1));
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var gx = Left + i * groupWidth + (groupWidth - barWidth * Series.Length) / 2;
            for (var s = 0; s < Series.Length; s++)
            {
                var (server, _, colour) = Series[s];
                var median = row.Median(server);
                if (!double.IsFinite(median) || median <= 0)
                {
                    continue;
                }
                var bx = gx + s * barWidth;
                var by = Y(median);
                sb.Append(Invariant($"<rect x=\"{bx:0.#}\" y=\"{by:0.#}\" width=\"{barWidth - 2:0.#}\" height=\"{plotBottom - by:0.#}\" fill=\"{colour}\"><title>{Escape(row.Cell)} {Escape(row.Metric)} {server}: {Escape(Format.Number(median))}</title></rect>"));
                var min = row.Min(server);
                var max = row.Max(server);
                if (double.IsFinite(min) && double.IsFinite(max) && max > min)
                {
                    var cx = bx + (barWidth - 2) / 2;
                    sb.Append(Invariant($"<line x1=\"{cx:0.#}\" x2=\"{cx:0.#}\" y1=\"{Y(min):0.#}\" y2=\"{Y(max):0.#}\" stroke=\"#222\"/>"));
                }
                sb.Append('\n');
            }
            var lx = Left + (i + 0.5) * groupWidth;
            var lines = label(row).Split('\n');
            for (var l = 0; l < lines.Length; l++)
            {
                sb.Append(Invariant($"<text x=\"{lx:0.#}\" y=\"{plotBottom + 14 + l * 12}\" text-anchor=\"middle\" font-size=\"10\">{Escape(lines[l])}</text>\n"));
            }
            var ratio = row.RatioOf("ours", "kestrel");
            if (double.IsFinite(ratio))
            {
                sb.Append(Invariant($"<text x=\"{lx:0.#}\" y=\"{plotBottom + 14 + lines.Length * 12}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#2b7bb9\">{ratio:0.00}×</text>\n"));
            }
        }
    }

    /// <summary>"100 conns, 1 KiB, window 1" becomes two short lines.</summary>
    private static string ShortCase(string cell)
    {
        var parts = cell.Split(", ");
        return parts.Length >= 3 ? $"{parts[0].Replace(" conns", "c", StringComparison.Ordinal)} {parts[1]}\n{parts[2].Replace("window ", "w", StringComparison.Ordinal)}" : cell;
    }

    private static string Tick(double v) => v switch
    {
        >= 1e9 => Invariant($"{v / 1e9:0.#}G"),
        >= 1e6 => Invariant($"{v / 1e6:0.#}M"),
        >= 1e3 => Invariant($"{v / 1e3:0.#}k"),
        _ => Invariant($"{v:0.##}"),
    };

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string s) => WebUtility.HtmlEncode(s);
}
