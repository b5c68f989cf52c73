using System.Runtime.InteropServices;
using Engine;
using Engine.History;
using Host;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

HostSettings settings;
try
{
    settings = HostSettings.Parse(args, Environment.GetEnvironmentVariable);
}
catch (Exception exception) when (exception is FormatException or ArgumentException or InvalidDataException or IOException
    or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
{
    // InvalidDataException: appsettings.json is not valid JSON; IO/crypto errors: unreadable or invalid TLS PEM files.
    Console.Error.WriteLine($"error: {exception.Message}");
    return 2;
}
if (settings.ShowHelp)
{
    Console.Write(HostSettings.HelpText());
    return 0;
}

using ILoggerFactory loggerFactory = HostLogging.CreateFactory(settings.LogFormat, settings.LogLevel);
ILogger log = loggerFactory.CreateLogger("Host");
// READY=1 / STOPPING=1 to systemd when started as a Type=notify unit (NOTIFY_SOCKET set); a no-op otherwise.
var systemd = new SystemdNotifier();

using var meters = new HostMeterFactory();
using PrometheusExporter? exporter = settings.MetricsEnabled ? PrometheusExporter.For(meters) : null;
var diagnostics = new DiagnosticsEndpoints { Exporter = exporter };
AppHandler? app = null;
if (settings.Mode == HostSettings.HostMode.App)
{
    var metrics = new HostMetrics();
    app = new AppHandler(settings.App, diagnostics, metrics);
    metrics.CreateInstruments(meters, () => app.PendingAuthentications);
}
IWebSocketHandler handler = settings.Mode switch
{
    HostSettings.HostMode.App => app!,
    HostSettings.HostMode.Broadcast => new BroadcastHandler(diagnostics),
    _ => new EchoHandler(diagnostics),
};
// The engine logs and meters through the Host's factories: one console, one /metrics for both.
await using var server = new WebSocketServer(settings.Server with { LoggerFactory = loggerFactory, MeterFactory = meters }, handler);
diagnostics.Server = server;
// Channels across nodes: attached before start so the first subscriber already subscribes at the broker.
IPubSubBackplane? backplane = settings.Backplane is null ? null : BackplaneFactory.Create(settings.Backplane, settings.History);
if (backplane is not null)
{
    BackplaneMetrics.CreateInstruments(meters, backplane);
    // Not ready while the broker is unreachable (issue 17): this node's channels reach only its own clients, so a load
    // balancer should send new clients to a node that still reaches the others. /healthz stays 200 (degraded): alive.
    string broker = $"{settings.Backplane!.Scheme}://{settings.Backplane.Authority}";
    diagnostics.ReadinessChecks.Add(() => backplane.IsConnected ? null : $"backplane disconnected ({broker})");
    if (backplane is IHistoryBackplane history)
    {
        // The app protocol carries history offsets in its messages; the other modes relay payloads as they are.
        var channelHistory = new ChannelHistory(server.PubSub, history, app is null ? null : OffsetStamping.Stamp);
        app?.UseHistory(channelHistory);
    }
    else
    {
        server.PubSub.UseBackplane(backplane);
    }
    // Give the broker a moment before taking clients, so the first subscribers already get history positions; a broker
    // that is down does not hold the node back (it runs degraded and connects when the broker is up).
    for (int waited = 0; waited < 3000 && !backplane.IsConnected; waited += 50)
    {
        await Task.Delay(50);
    }
}
try
{
    await server.StartAsync();
}
catch (System.Net.Sockets.SocketException exception)
{
    HostLog.CannotListen(log, settings.Server.Address, settings.Server.Port, exception.Message);
    return 1;
}
diagnostics.Ready = true;
string auth = app is null ? "" : settings.App.AuthRequired
    ? $", auth: JWT HS256 required{(settings.App.AllowQueryToken ? " (query token accepted)" : "")}"
    : ", auth: OPEN (no WS_AUTH_SECRET: anyone may connect)";
string files = app is null ? "" : $", files: {settings.App.FilesDirectory ?? "disabled"}";
if (backplane is not null)
{
    files += $", backplane: {settings.Backplane!.Scheme}://{settings.Backplane.Authority} (node {backplane.NodeId:N})";
}
HostLog.Listening(log, $"{(settings.Server.Tls is null ? "ws" : "wss")}://{server.LocalEndPoint}", settings.Mode.ToString().ToLowerInvariant(), auth + files, Environment.ProcessId,
    exporter is null ? "off" : "/metrics");
systemd.Notify(ServiceState.Ready);

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
await stop.Task;
diagnostics.Ready = false;
systemd.Notify(ServiceState.Stopping);
HostLog.Stopping(log, server.OpenWebSocketCount);
await server.StopAsync();
if (app is not null)
{
    await app.DisposeAsync();
}
if (backplane is not null)
{
    await backplane.DisposeAsync();
}
if (handler is EchoHandler echo)
{
    // The graceful-stop test compares this count with what the clients received before their 1001.
    HostLog.StoppedEcho(log, echo.Echoed, GC.GetTotalAllocatedBytes(precise: true));
}
else
{
    HostLog.Stopped(log, GC.GetTotalAllocatedBytes(precise: true));
}
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}
