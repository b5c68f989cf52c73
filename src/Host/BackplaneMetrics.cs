using System.Diagnostics.Metrics;
using Engine;

namespace Host;

/// <summary>
/// The backplane's counters as <see cref="System.Diagnostics.Metrics"/> instruments (meter <c>Engine.Backplane</c>, so
/// <c>/metrics</c> and any other listener see them): messages that could not cross nodes, messages received from other
/// nodes, connection state.
/// </summary>
internal static class BackplaneMetrics
{
    public const string MeterName = "Engine.Backplane";

    /// <summary>Creates the instruments on a meter from <paramref name="meters"/> (which owns and disposes it).</summary>
    public static void CreateInstruments(IMeterFactory meters, IPubSubBackplane backplane)
    {
        Meter meter = meters.Create(MeterName);
        meter.CreateObservableCounter("engine.backplane.undelivered", () => backplane.UndeliveredMessages, "{message}",
            "Channel messages published on this node that could not be handed to the broker (broker down)");
        meter.CreateObservableCounter("engine.backplane.received", () => backplane.ReceivedMessages, "{message}",
            "Channel messages received from other nodes through the broker");
        meter.CreateObservableUpDownCounter("engine.backplane.connected", () => backplane.IsConnected ? 1 : 0, null,
            "1 while the broker connection is up, 0 while it is down (/healthz says degraded)");
    }
}
