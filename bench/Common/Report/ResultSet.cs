namespace Bench.Report;

/// <summary>One reported figure: a scenario case and metric, with the samples (one per repetition) of every server or setup measured.</summary>
internal sealed class ResultRow(string scenario, string cell, string metric, string unit, bool higherIsBetter)
{
    public string Scenario { get; } = scenario;
    public string Cell { get; } = cell;
    public string Metric { get; } = metric;
    public string Unit { get; } = unit;
    public bool HigherIsBetter { get; } = higherIsBetter;
    public Dictionary<string, List<double>> Samples { get; } = [];

    public double Median(string server)
    {
        if (!Samples.TryGetValue(server, out var list) || list.Count == 0)
        {
            return double.NaN;
        }
        var sorted = list.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public double Min(string server) => Samples.TryGetValue(server, out var l) && l.Any(v => !double.IsNaN(v)) ? l.Where(v => !double.IsNaN(v)).Min() : double.NaN;

    public double Max(string server) => Samples.TryGetValue(server, out var l) && l.Any(v => !double.IsNaN(v)) ? l.Where(v => !double.IsNaN(v)).Max() : double.NaN;

    /// <summary><paramref name="numerator"/> / <paramref name="denominator"/> of the medians (NaN when either is missing or the denominator is 0).</summary>
    public double RatioOf(string numerator, string denominator) => Median(denominator) is var d && d != 0 ? Median(numerator) / d : double.NaN;
}

/// <summary>All rows of a run in the order they were first recorded, plus notes on failures and odd behaviour.</summary>
internal sealed class ResultSet
{
    private readonly Dictionary<(string, string, string), ResultRow> index = [];

    public List<ResultRow> Rows { get; } = [];
    public List<string> Notes { get; } = [];
    public Dictionary<string, string> Info { get; } = [];

    public void Add(string scenario, string cell, string metric, string unit, bool higherIsBetter, string server, double value)
    {
        if (!index.TryGetValue((scenario, cell, metric), out var row))
        {
            row = new ResultRow(scenario, cell, metric, unit, higherIsBetter);
            index[(scenario, cell, metric)] = row;
            Rows.Add(row);
        }
        if (!row.Samples.TryGetValue(server, out var list))
        {
            list = [];
            row.Samples[server] = list;
        }
        list.Add(value);
    }

    public ResultRow? Find(string scenario, string cell, string metric) => index.GetValueOrDefault((scenario, cell, metric));

    public void Note(string note)
    {
        lock (Notes)
        {
            if (!Notes.Contains(note))
            {
                Notes.Add(note);
            }
        }
    }
}
