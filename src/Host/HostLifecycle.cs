using System.Diagnostics.Metrics;
using Engine;
using Engine.History;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Host;

/// <summary>
/// The Host's part of the Generic Host's lifecycle, around the engine's own <c>WebSocketEngineService</c> (which binds in
/// its <c>StartAsync</c> and closes every connection with 1001 in its <c>StopAsync</c>). The host runs every
/// <see cref="IHostedLifecycleService"/>'s <see cref="StartingAsync"/> before any service starts and its
/// <see cref="StoppingAsync"/> before any stops, so: the backplane is attached before the first client can subscribe;
/// <c>/readyz</c>, the listening line and systemd's READY=1 follow the bind; <c>/readyz</c> turns 503 and STOPPING=1 goes
/// out before the 1001s; the handler and the backplane are disposed, and the last line logged, once the engine has stopped.
/// </summary>
internal sealed class HostLifecycle : IHostedLifecycleService, IDisposable
{
    private readonly HostSettings _settings;
    private readonly IWebSocketHandler _handler;
    private readonly DiagnosticsEndpoints _diagnostics;
    private readonly IPubSubBackplane? _backplane;
    private readonly WebSocketServer _server;
    private readonly IMeterFactory _meters;
    private readonly ISystemdNotifier _systemd;
    private readonly ILogger _log;
    private readonly PrometheusExporter? _exporter;

    public HostLifecycle(HostSettings settings, IWebSocketHandler handler, DiagnosticsEndpoints diagnostics, IPubSubBackplane? backplane,
        WebSocketServer server, IMeterFactory meters, ISystemdNotifier systemd, ILoggerFactory loggers)
    {
        _settings = settings;
        _handler = handler;
        _diagnostics = diagnostics;
        _backplane = backplane;
        _server = server;
        _meters = meters;
        _systemd = systemd;
        _log = loggers.CreateLogger("Host");
        // One /metrics for the engine's meters and the Host's: all come from the host's IMeterFactory.
        _exporter = settings.MetricsEnabled ? PrometheusExporter.For(meters) : null;
        diagnostics.Exporter = _exporter;
        diagnostics.Server = server;
    }

    /// <summary>Before the engine binds: the Host's instruments, and the backplane attached to the server's channels.</summary>
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (_handler is AppHandler app)
        {
            app.Metrics.CreateInstruments(_meters, () => app.PendingAuthentications);
        }
        if (_backplane is not { } backplane)
        {
            return;
        }
        BackplaneMetrics.CreateInstruments(_meters, backplane);
        // Not ready while the broker is unreachable: this node's channels reach only its own clients, so a load balancer
        // should send new clients to a node that still reaches the others. /healthz stays 200 (degraded): alive.
        string broker = $"{_settings.Backplane!.Scheme}://{_settings.Backplane.Authority}";
        _diagnostics.ReadinessChecks.Add(() => backplane.IsConnected ? null : $"backplane disconnected ({broker})");
        if (backplane is IHistoryBackplane history)
        {
            // The app protocol carries history offsets in its messages; the other modes relay payloads as they are.
            var channelHistory = new ChannelHistory(_server.PubSub, history, _handler is AppHandler ? OffsetStamping.Stamp : null);
            (_handler as AppHandler)?.UseHistory(channelHistory);
        }
        else
        {
            _server.PubSub.UseBackplane(backplane);
        }
        // Give the broker a moment before taking clients, so the first subscribers already get history positions; a broker
        // that is down does not hold the node back (it runs degraded and connects when the broker is up). A stop asked
        // meanwhile ends the wait rather than failing the start.
        for (int waited = 0; waited < 3000 && !backplane.IsConnected && !cancellationToken.IsCancellationRequested; waited += 50)
        {
            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The engine listens: ready for load balancers and systemd (READY=1, for a <c>Type=notify</c> unit).</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _diagnostics.Ready = true;
        string details = "";
        if (_handler is AppHandler)
        {
            details = _settings.App.AuthRequired
                ? $", auth: JWT HS256 required{(_settings.App.AllowQueryToken ? " (query token accepted)" : "")}"
                : ", auth: OPEN (no WS_AUTH_SECRET: anyone may connect)";
            details += $", files: {_settings.App.FilesDirectory ?? "disabled"}";
        }
        if (_server.ActiveTransport == TransportKind.Sockets)
        {
            details += SocketCompletions.Inline
                ? ", socket completions: inline"
                : ", socket completions: thread pool";
        }
        if (_backplane is not null)
        {
            details += $", backplane: {_settings.Backplane!.Scheme}://{_settings.Backplane.Authority} (node {_backplane.NodeId:N})";
        }
        HostLog.Listening(_log, $"{(_settings.Server.Tls is null ? "ws" : "wss")}://{_server.LocalEndPoint}", _settings.Mode.ToString().ToLowerInvariant(),
            details, Environment.ProcessId, _exporter is null ? "off" : "/metrics");
        _systemd.Notify(ServiceState.Ready);
        return Task.CompletedTask;
    }

    /// <summary>SIGTERM or Ctrl-C: out of rotation (<c>/readyz</c> 503) and STOPPING=1 before the engine sends its 1001s.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _diagnostics.Ready = false;
        _systemd.Notify(ServiceState.Stopping);
        HostLog.Stopping(_log, _server.OpenWebSocketCount);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The engine has stopped: the handler's sweep and the broker connection end, then the last line.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_handler is AppHandler app)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
        if (_backplane is not null)
        {
            await _backplane.DisposeAsync().ConfigureAwait(false);
        }
        if (_handler is EchoHandler)
        {
            // The graceful-stop test compares this count with what the clients received before their 1001.
            HostLog.StoppedEcho(_log, MessagesSent(), GC.GetTotalAllocatedBytes(precise: true));
        }
        else
        {
            HostLog.Stopped(_log, GC.GetTotalAllocatedBytes(precise: true));
        }
    }

    public void Dispose() => _exporter?.Dispose();

    /// <summary>The engine's count of messages accepted into send queues, read from this host's meters (in echo mode: the echoes).</summary>
    private long MessagesSent()
    {
        long total = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == _meters && instrument.Meter.Name == WebSocketTelemetry.MeterName
                && instrument.Name == "websocket.server.messages.sent")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => total += value);
        listener.Start();
        listener.RecordObservableInstruments();
        return total;
    }
}
