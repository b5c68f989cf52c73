using System.Diagnostics;
using HdrHistogram;

namespace Bench;

/// <summary>Latency histograms in Stopwatch ticks, read out in microseconds.</summary>
internal static class Histograms
{
    /// <summary>Ticks up to 100 s at three significant digits.</summary>
    public static LongHistogram New() => new(100 * Stopwatch.Frequency, 3);

    /// <summary>The value at <paramref name="percentile"/> (100 = the maximum) in microseconds; NaN when empty.</summary>
    public static double Micros(LongHistogram h, double percentile)
    {
        if (h.TotalCount == 0)
        {
            return double.NaN;
        }
        var ticks = percentile >= 100 ? h.GetMaxValue() : h.GetValueAtPercentile(percentile);
        return ticks * 1e6 / Stopwatch.Frequency;
    }
}
