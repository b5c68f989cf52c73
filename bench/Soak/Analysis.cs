namespace Soak;

internal sealed record Check(string Name, bool Passed, string Detail);

internal sealed record Verdict(IReadOnlyList<Check> Checks, double WarmupSeconds)
{
    public bool Passed => Checks.All(c => c.Passed);
}

internal sealed record SoakResult(DateTime FinishedUtc, double DurationSeconds, double LoadSeconds, double SampleSeconds, int Cpus,
    long Echoes, long Published, long Delivered, long ChurnCycles, long ClientErrors, IReadOnlyList<string> ErrorSamples,
    IReadOnlyList<Sample> Samples, Sample Final, Verdict Verdict);

/// <summary>
/// "Ends flat": after a warm-up (the first fifth of the run, at least 10 s), the samples are cut into thirds and the
/// median of the last third is compared with the median of the middle third. A leak grows steadily, so the last third
/// sits above the middle one; noise and the GC's sawtooth move single samples, not medians. Each metric may grow by a
/// relative tolerance plus an absolute floor (so a tiny baseline does not make one extra thread a failure).
/// </summary>
internal static class Analysis
{
    public static Verdict Judge(IReadOnlyList<Sample> samples, Sample final, Options options, Workload workload, bool cleanExit, string handleChange)
    {
        double warmup = Math.Max(10, options.Duration.TotalSeconds / 5);
        Sample[] steady = samples.Where(s => s.Seconds >= warmup).ToArray();
        var checks = new List<Check>();
        if (steady.Length < 6)
        {
            checks.Add(new Check("enough samples", false, $"{steady.Length} after the {warmup:F0} s warm-up; need 6 (run longer or sample more often)"));
        }
        else
        {
            int third = steady.Length / 3;
            Sample[] middle = steady[third..(2 * third)];
            Sample[] last = steady[(steady.Length - third)..];
            checks.Add(Flat("RSS flat", middle, last, s => s.RssBytes, relative: 0.10, absolute: 8 << 20, Mib));
            checks.Add(Flat("managed heap flat", middle, last, s => s.ManagedHeap, relative: 0.25, absolute: 8 << 20, Mib));
            checks.Add(Flat("open handles flat", middle, last, s => s.OpenHandles, relative: 0, absolute: 16, n => n.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)));
            checks.Add(Flat("threads flat", middle, last, s => s.Threads, relative: 0, absolute: 4, n => n.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)));
        }
        checks.Add(new Check("no pooled buffers outstanding at the end", final.OutstandingBuffers == 0, $"{final.OutstandingBuffers} blocks rented after every client left"));
        checks.Add(new Check("no connections left at the end", final.Connections == 0, $"{final.Connections} open after every client left"));
        // Back to the baseline (taken after a primer burst, so the runtime's one-time descriptors are in it), give or take
        // a few the runtime may still open lazily; a leak of connections would be thousands here (every churn cycle).
        checks.Add(new Check("handles back to the start", final.OpenHandles <= samples[0].OpenHandles + 8,
            $"{final.OpenHandles} open at the end, {samples[0].OpenHandles} before the load (limit +8); changed: {(handleChange.Length == 0 ? "none" : handleChange)}"));
        checks.Add(new Check("traffic flowed", workload.Echoes > 0 && workload.Delivered > 0 && workload.ChurnCycles > 0,
            $"{workload.Echoes} echoes, {workload.Delivered} broadcast deliveries, {workload.ChurnCycles} churn cycles"));
        checks.Add(new Check("no client errors", workload.Errors == 0, workload.Errors == 0 ? "none" : $"{workload.Errors}: " + string.Join(" | ", workload.ErrorSamples)));
        checks.Add(new Check("graceful exit on SIGTERM", cleanExit, cleanExit ? "exit code 0" : "did not exit cleanly within 15 s"));
        return new Verdict(checks, warmup);
    }

    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static Check Flat(string name, Sample[] middle, Sample[] last, Func<Sample, double> metric, double relative, double absolute, Func<double, string> format)
    {
        double m = Median(middle.Select(metric));
        double l = Median(last.Select(metric));
        double limit = (m * (1 + relative)) + absolute;
        return new Check(name, l <= limit, $"median of the last third {format(l)} vs middle third {format(m)} (limit {format(limit)})");
    }

    private static string Mib(double bytes) => (bytes / 1048576).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " MiB";
}
