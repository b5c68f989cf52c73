using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Host;

/// <summary>
/// Exports System.Diagnostics.Metrics instruments in the Prometheus text format (version 0.0.4) for <c>GET /metrics</c>.
/// A <see cref="MeterListener"/> aggregates the instruments <see cref="PrometheusExporter(Func{Instrument, bool})"/>
/// selects: counters and up-down counters are summed, gauges keep their last value, histograms count into buckets (the
/// instrument's advised boundaries, else defaults for its unit), observable instruments are read at each scrape.
/// Names follow the OpenTelemetry-to-Prometheus conventions: dots become underscores, the unit is appended when the name
/// does not already say it (<c>s</c> is <c>_seconds</c>, <c>By</c> is <c>_bytes</c>, <c>{thing}</c> adds nothing), counters end in <c>_total</c>.
/// </summary>
/// <remarks>
/// A library was considered first: prometheus-net 8.2.1's MeterAdapter exported no instrument values in a trial here
/// and pulls in Microsoft.Extensions.Http 3.1; OpenTelemetry's Prometheus exporter serves only through ASP.NET Core or
/// its own HttpListener port, while this Host answers HTTP on the WebSocket port through the engine.
/// Measurements without tags (the hot-path kind) are lock-free and allocation-free; tagged ones build a series key.
/// </remarks>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The Content-Type of the text format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Series kept per instrument; measurements with further tag sets are not recorded (a cardinality guard).</summary>
    public const int MaxSeriesPerInstrument = 2000;

    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener _listener;
    private readonly List<InstrumentState> _instruments = [];
    private readonly Lock _scrape = new();

    /// <summary>Starts listening to the instruments <paramref name="include"/> accepts (published before or after this call).</summary>
    public PrometheusExporter(Func<Instrument, bool> include)
    {
        ArgumentNullException.ThrowIfNull(include);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (!include(instrument) || KindOf(instrument) is not { } kind)
                {
                    return;
                }
                var state = new InstrumentState(instrument, kind, BucketsOf(instrument));
                lock (_instruments)
                {
                    _instruments.Add(state);
                }
                listener.EnableMeasurementEvents(instrument, state);
            },
            MeasurementsCompleted = (instrument, state) =>
            {
                lock (_instruments)
                {
                    _instruments.Remove((InstrumentState)state!);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>
    /// An exporter of every instrument of the meters <paramref name="factory"/> created, plus the runtime's own
    /// (<c>System.Runtime</c>: GC, memory, CPU, thread pool). The factory is told by <see cref="Meter.Scope"/>, which
    /// both <see cref="HostMeterFactory"/> and the Generic Host's <see cref="IMeterFactory"/> set to themselves.
    /// </summary>
    public static PrometheusExporter For(IMeterFactory factory, bool includeRuntime = true) =>
        new(instrument => ReferenceEquals(instrument.Meter.Scope, factory) || (includeRuntime && instrument.Meter.Name == "System.Runtime"));

    /// <summary>Reads the observable instruments and writes every series in the text format.</summary>
    public byte[] Scrape()
    {
        lock (_scrape)
        {
            InstrumentState[] instruments;
            lock (_instruments)
            {
                instruments = [.. _instruments];
            }
            foreach (InstrumentState state in instruments)
            {
                state.BeginObservation();
            }
            // Calls every observable instrument's callback on this thread, into Record.
            _listener.RecordObservableInstruments();

            var text = new StringBuilder(4096);
            foreach (IGrouping<string, InstrumentState> family in instruments
                .GroupBy(state => state.Name, StringComparer.Ordinal)
                .OrderBy(group => group.Key, StringComparer.Ordinal))
            {
                InstrumentState first = family.First();
                if (first.Instrument.Description is { Length: > 0 } help)
                {
                    text.Append("# HELP ").Append(family.Key).Append(' ').Append(EscapeHelp(help)).Append('\n');
                }
                text.Append("# TYPE ").Append(family.Key).Append(' ').Append(first.TypeName).Append('\n');
                foreach (InstrumentState state in family)
                {
                    state.Write(text);
                }
            }
            return Encoding.UTF8.GetBytes(text.ToString());
        }
    }

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();

    /// <summary>The Prometheus metric name of an instrument (see the class summary).</summary>
    public static string MetricName(Instrument instrument, bool counter)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        string name = Sanitize(instrument.Name);
        string? unit = instrument.Unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            "1" when !counter => "ratio",
            _ => null,
        };
        if (unit is not null && !name.Split('_').Contains(unit, StringComparer.Ordinal))
        {
            name += "_" + unit;
        }
        if (counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }
        return name;
    }

    private static string Sanitize(string name)
    {
        var result = new StringBuilder(name.Length + 1);
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            result.Append('_');
        }
        foreach (char c in name)
        {
            result.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }
        return result.ToString();
    }

    private static string EscapeHelp(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeLabel(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static InstrumentKind? KindOf(Instrument instrument) => instrument switch
    {
        Counter<long> or Counter<int> or Counter<double> or Counter<float> => InstrumentKind.Counter,
        UpDownCounter<long> or UpDownCounter<int> or UpDownCounter<double> or UpDownCounter<float> => InstrumentKind.UpDownCounter,
        Gauge<long> or Gauge<int> or Gauge<double> or Gauge<float> => InstrumentKind.Gauge,
        Histogram<long> or Histogram<int> or Histogram<double> or Histogram<float> => InstrumentKind.Histogram,
        ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> or ObservableCounter<float> => InstrumentKind.ObservableCounter,
        ObservableUpDownCounter<long> or ObservableUpDownCounter<int> or ObservableUpDownCounter<double> or ObservableUpDownCounter<float> => InstrumentKind.ObservableGauge,
        ObservableGauge<long> or ObservableGauge<int> or ObservableGauge<double> or ObservableGauge<float> => InstrumentKind.ObservableGauge,
        _ => null,
    };

    private static double[] BucketsOf(Instrument instrument)
    {
        IReadOnlyList<double>? advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            _ => null,
        };
        return advised is { Count: > 0 } ? [.. advised] : instrument.Unit == "s" ? SecondsBuckets : DefaultBuckets;
    }

    private enum InstrumentKind
    {
        Counter,
        UpDownCounter,
        Gauge,
        Histogram,
        ObservableCounter,
        ObservableGauge,
    }

    /// <summary>One instrument's series, keyed by their label text.</summary>
    private sealed class InstrumentState
    {
        private readonly InstrumentKind _kind;
        private readonly double[] _buckets;
        private readonly Series _untagged;
        private readonly ConcurrentDictionary<string, Series> _tagged = new(StringComparer.Ordinal);

        public InstrumentState(Instrument instrument, InstrumentKind kind, double[] buckets)
        {
            Instrument = instrument;
            _kind = kind;
            _buckets = buckets;
            bool counter = kind is InstrumentKind.Counter or InstrumentKind.ObservableCounter;
            Name = MetricName(instrument, counter);
            TypeName = counter ? "counter" : kind == InstrumentKind.Histogram ? "histogram" : "gauge";
            _untagged = new Series("", kind == InstrumentKind.Histogram ? buckets.Length + 1 : 0);
        }

        public Instrument Instrument { get; }

        public string Name { get; }

        public string TypeName { get; }

        /// <summary>Observable instruments report every series afresh at each scrape: forget the previous ones.</summary>
        public void BeginObservation()
        {
            if (_kind is InstrumentKind.ObservableCounter or InstrumentKind.ObservableGauge)
            {
                _tagged.Clear();
                _untagged.Seen = false;
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Series? series = tags.IsEmpty ? _untagged : Find(tags);
            if (series is null)
            {
                return;
            }
            switch (_kind)
            {
                case InstrumentKind.Counter:
                case InstrumentKind.UpDownCounter:
                    series.Add(value);
                    break;
                case InstrumentKind.Histogram:
                    series.Observe(value, _buckets);
                    break;
                default:
                    series.Set(value);
                    break;
            }
        }

        public void Write(StringBuilder text)
        {
            if (_untagged.Seen)
            {
                Write(text, _untagged);
            }
            foreach (KeyValuePair<string, Series> entry in _tagged.OrderBy(entry => entry.Key, StringComparer.Ordinal))
            {
                Write(text, entry.Value);
            }
        }

        private void Write(StringBuilder text, Series series)
        {
            if (_kind != InstrumentKind.Histogram)
            {
                text.Append(Name).Append(series.Labels.Length == 0 ? "" : "{" + series.Labels + "}").Append(' ').Append(Number(series.Value)).Append('\n');
                return;
            }
            string separator = series.Labels.Length == 0 ? "" : series.Labels + ",";
            long cumulative = 0;
            for (int i = 0; i <= _buckets.Length; i++)
            {
                cumulative += Interlocked.Read(ref series.Buckets[i]);
                string bound = i < _buckets.Length ? Number(_buckets[i]) : "+Inf";
                text.Append(Name).Append("_bucket{").Append(separator).Append("le=\"").Append(bound).Append("\"} ")
                    .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            string labels = series.Labels.Length == 0 ? "" : "{" + series.Labels + "}";
            text.Append(Name).Append("_sum").Append(labels).Append(' ').Append(Number(series.Value)).Append('\n');
            // The count is the +Inf bucket, so the two always agree even while measurements arrive.
            text.Append(Name).Append("_count").Append(labels).Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        private Series? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            // Sorted by name so the same tags in another order are the same series.
            var pairs = new KeyValuePair<string, object?>[tags.Length];
            tags.CopyTo(pairs);
            Array.Sort(pairs, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var labels = new StringBuilder();
            foreach (KeyValuePair<string, object?> tag in pairs)
            {
                if (labels.Length > 0)
                {
                    labels.Append(',');
                }
                labels.Append(Sanitize(tag.Key)).Append("=\"").Append(EscapeLabel(Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "")).Append('"');
            }
            string key = labels.ToString();
            if (_tagged.TryGetValue(key, out Series? series))
            {
                return series;
            }
            return _tagged.Count >= MaxSeriesPerInstrument ? null
                : _tagged.GetOrAdd(key, static (k, length) => new Series(k, length), _kind == InstrumentKind.Histogram ? _buckets.Length + 1 : 0);
        }
    }

    /// <summary>One labelled value (sum, last value or histogram), updated lock-free.</summary>
    private sealed class Series(string labels, int buckets)
    {
        private double _value;

        public string Labels { get; } = labels;

        public long[] Buckets { get; } = new long[buckets];

        public bool Seen { get; set; }

        public double Value => Volatile.Read(ref _value);

        public void Add(double value)
        {
            double current = Volatile.Read(ref _value);
            while (true)
            {
                double seen = Interlocked.CompareExchange(ref _value, current + value, current);
                if (seen.Equals(current))
                {
                    break;
                }
                current = seen;
            }
            Seen = true;
        }

        public void Set(double value)
        {
            Volatile.Write(ref _value, value);
            Seen = true;
        }

        public void Observe(double value, double[] bounds)
        {
            int bucket = Array.BinarySearch(bounds, value);
            // Prometheus buckets are "less than or equal": an exact bound belongs to its own bucket.
            Interlocked.Increment(ref Buckets[bucket >= 0 ? bucket : ~bucket]);
            Add(value);
        }
    }
}
