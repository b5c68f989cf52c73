namespace Engine;

/// <summary>
/// Names under which a <see cref="WebSocketServer"/> reports: the meter (see <see cref="WebSocketServerOptions.MeterFactory"/>)
/// and the logger category (see <see cref="WebSocketServerOptions.LoggerFactory"/>). The instrument names are listed in docs/metrics.md.
/// </summary>
public static class WebSocketTelemetry
{
    /// <summary>The name of every server's <see cref="System.Diagnostics.Metrics.Meter"/>: <c>Engine.WebSockets</c>.</summary>
    public const string MeterName = "Engine.WebSockets";

    /// <summary>The category of the server's logger: <c>Engine.WebSocketServer</c>.</summary>
    public const string LoggerCategory = "Engine.WebSocketServer";
}
