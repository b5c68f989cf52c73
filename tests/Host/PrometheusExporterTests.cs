using System.Diagnostics.Metrics;
using System.Text;
using Host;

namespace Engine.Tests.HostApp;

/// <summary>The text-format writer: every instrument kind, names and units, labels, histograms, scoping.</summary>
public sealed class PrometheusExporterTests
{
    [Fact]
    public void Writes_every_instrument_kind_with_prometheus_names()
    {
        using var meters = new HostMeterFactory();
        using PrometheusExporter exporter = PrometheusExporter.For(meters, includeRuntime: false);
        Meter meter = meters.Create(new MeterOptions("Test"));
        Counter<long> opened = meter.CreateCounter<long>("test.connections.opened", "{connection}", "Opened.");
        UpDownCounter<int> active = meter.CreateUpDownCounter<int>("test.active");
        Counter<double> bytes = meter.CreateCounter<double>("test.payload", "By");
        long observed = 41;
        meter.CreateObservableCounter("test.closed", () => new[]
        {
            new Measurement<long>(observed, new KeyValuePair<string, object?>("close.code", 1000)),
            new Measurement<long>(3, new KeyValuePair<string, object?>("close.code", 1006)),
        });
        meter.CreateObservableGauge("test.queue.depth", () => 7.5, "By");
        Histogram<double> latency = meter.CreateHistogram("test.fanout.duration", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.01, 0.1] });

        opened.Add(2);
        opened.Add(3);
        active.Add(5);
        active.Add(-2);
        bytes.Add(1.5, new KeyValuePair<string, object?>("dir", "in"));
        bytes.Add(2.5, new KeyValuePair<string, object?>("dir", "in"));
        bytes.Add(1, new KeyValuePair<string, object?>("dir", "a \"quoted\\\" \n value"));
        latency.Record(0.0005);
        latency.Record(0.001); // on a bound: counts in that bound's bucket (le is "less or equal")
        latency.Record(0.05);
        latency.Record(3);
        observed++;

        string text = Encoding.UTF8.GetString(exporter.Scrape());
        Dictionary<string, double> samples = PrometheusText.Parse(text);
        Assert.Contains("# HELP test_connections_opened_total Opened.\n# TYPE test_connections_opened_total counter\n", text, StringComparison.Ordinal);
        Assert.Equal(5, samples["test_connections_opened_total"]);
        Assert.Contains("# TYPE test_active gauge\n", text, StringComparison.Ordinal);
        Assert.Equal(3, samples["test_active"]);
        Assert.Equal(4, samples["test_payload_bytes_total{dir=\"in\"}"]);
        Assert.Equal(1, samples["test_payload_bytes_total{dir=\"a \\\"quoted\\\\\\\" \\n value\"}"]);
        Assert.Equal(42, samples["test_closed_total{close_code=\"1000\"}"]);
        Assert.Equal(3, samples["test_closed_total{close_code=\"1006\"}"]);
        Assert.Equal(7.5, samples["test_queue_depth_bytes"]);
        Assert.Contains("# TYPE test_fanout_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Equal(2, samples["test_fanout_duration_seconds_bucket{le=\"0.001\"}"]);
        Assert.Equal(2, samples["test_fanout_duration_seconds_bucket{le=\"0.01\"}"]);
        Assert.Equal(3, samples["test_fanout_duration_seconds_bucket{le=\"0.1\"}"]);
        Assert.Equal(4, samples["test_fanout_duration_seconds_bucket{le=\"+Inf\"}"]);
        Assert.Equal(4, samples["test_fanout_duration_seconds_count"]);
        Assert.Equal(3.0515, samples["test_fanout_duration_seconds_sum"], 9);

        // Observable series are read afresh: the next scrape sees the new value, not a sum.
        observed = 50;
        Assert.Equal(50, PrometheusText.Parse(Encoding.UTF8.GetString(exporter.Scrape()))["test_closed_total{close_code=\"1000\"}"]);
    }

    [Fact]
    public void Exports_only_the_meters_of_its_own_factory()
    {
        using var mine = new HostMeterFactory();
        using var other = new HostMeterFactory();
        using PrometheusExporter exporter = PrometheusExporter.For(mine, includeRuntime: false);
        mine.Create(new MeterOptions("Test")).CreateCounter<long>("test.mine").Add(1);
        other.Create(new MeterOptions("Test")).CreateCounter<long>("test.other").Add(1);
        using var unscoped = new Meter("Test");
        unscoped.CreateCounter<long>("test.unscoped").Add(1);

        Dictionary<string, double> samples = PrometheusText.Parse(Encoding.UTF8.GetString(exporter.Scrape()));
        Assert.Equal(1, samples["test_mine_total"]);
        Assert.DoesNotContain(samples.Keys, key => key.StartsWith("test_other", StringComparison.Ordinal) || key.StartsWith("test_unscoped", StringComparison.Ordinal));
    }

    [Fact]
    public void A_disposed_meter_leaves_the_output()
    {
        using var meters = new HostMeterFactory();
        using PrometheusExporter exporter = PrometheusExporter.For(meters, includeRuntime: false);
        Meter meter = meters.Create(new MeterOptions("Test"));
        meter.CreateCounter<long>("test.gone").Add(1);
        Assert.Contains("test_gone_total 1\n", Encoding.UTF8.GetString(exporter.Scrape()), StringComparison.Ordinal);
        meter.Dispose();
        Assert.DoesNotContain("test_gone", Encoding.UTF8.GetString(exporter.Scrape()), StringComparison.Ordinal);
    }

    [Fact]
    public void The_runtime_meter_is_included_by_default()
    {
        using var meters = new HostMeterFactory();
        using PrometheusExporter exporter = PrometheusExporter.For(meters);
        Dictionary<string, double> samples = PrometheusText.Parse(Encoding.UTF8.GetString(exporter.Scrape()));
        Assert.True(samples["dotnet_process_memory_working_set_bytes"] > 0);
    }
}
