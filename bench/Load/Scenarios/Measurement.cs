using HdrHistogram;

namespace Load.Scenarios;

/// <summary>What one run of one scenario cell against one server measured.</summary>
internal sealed class Measurement
{
    public double Seconds { get; set; }
    public long Messages { get; set; }
    public long PayloadBytes { get; set; }
    public double ServerCpuSeconds { get; set; } = double.NaN;
    public double ClientCpuSeconds { get; set; } = double.NaN;
    public long AllocatedBytes { get; set; } = -1;
    public LongHistogram? Latency { get; set; }
    public int Failed { get; set; }
    public string? Error { get; set; }
    public long Unanswered { get; set; }

    /// <summary>Churn only: time per phase of a cycle (connect, upgrade, close reply, server FIN), in Stopwatch ticks.</summary>
    public LongHistogram[]? Phases { get; set; }

    public double PerSecond => Seconds > 0 ? Messages / Seconds : 0;
    public double PerServerCpuSecond => ServerCpuSeconds > 0 ? Messages / ServerCpuSeconds : double.NaN;
    public double MegabytesPerSecond => Seconds > 0 ? PayloadBytes / Seconds / 1e6 : 0;
    public double AllocatedPerMessage => AllocatedBytes >= 0 && Messages > 0 ? (double)AllocatedBytes / Messages : double.NaN;
    public double ServerCpuUse => Seconds > 0 ? ServerCpuSeconds / Seconds : double.NaN;
    public double ClientCpuUse => Seconds > 0 ? ClientCpuSeconds / Seconds : double.NaN;

    /// <summary>Percentile in microseconds; the histograms record Stopwatch ticks.</summary>
    public double LatencyMicros(double percentile)
    {
        return Latency is null ? double.NaN : Histograms.Micros(Latency, percentile);
    }

    public static double Micros(LongHistogram h, double percentile) => Histograms.Micros(h, percentile);

    public static LongHistogram NewHistogram() => Histograms.New();
}
