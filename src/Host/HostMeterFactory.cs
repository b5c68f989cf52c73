using System.Diagnostics.Metrics;

namespace Host;

/// <summary>
/// Creates the meters of one in-process Host (the engine's, given through its options, and the Host's own), all with this
/// factory as their <see cref="Meter.Scope"/>, so the <see cref="PrometheusExporter"/> exports exactly this Host's
/// instruments even when several servers share a process (tests). Disposing it ends every meter it created. The Host
/// process uses the Generic Host's <see cref="IMeterFactory"/> instead, which scopes its meters the same way.
/// </summary>
public sealed class HostMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];
    private bool _disposed;

    /// <inheritdoc/>
    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_meters)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _meters.Add(meter);
        }
        return meter;
    }

    /// <summary>Ends every meter created here.</summary>
    public void Dispose()
    {
        Meter[] meters;
        lock (_meters)
        {
            _disposed = true;
            meters = [.. _meters];
            _meters.Clear();
        }
        foreach (Meter meter in meters)
        {
            meter.Dispose();
        }
    }
}
