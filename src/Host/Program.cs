using System.Runtime.InteropServices;
using Engine;
using Host;

HostSettings settings;
try
{
    settings = HostSettings.Parse(args, Environment.GetEnvironmentVariable);
}
catch (Exception exception) when (exception is FormatException or ArgumentException)
{
    Console.Error.WriteLine($"error: {exception.Message}");
    return 2;
}
if (settings.ShowHelp)
{
    Console.Write(HostSettings.HelpText());
    return 0;
}

var diagnostics = new DiagnosticsEndpoints();
AppHandler? app = settings.Mode == HostSettings.HostMode.App ? new AppHandler(settings.App, diagnostics) : null;
IWebSocketHandler handler = settings.Mode switch
{
    HostSettings.HostMode.App => app!,
    HostSettings.HostMode.Broadcast => new BroadcastHandler(diagnostics),
    _ => new EchoHandler(diagnostics),
};
await using var server = new WebSocketServer(settings.Server, handler);
diagnostics.Server = server;
await server.StartAsync();
string details = app is null ? "" : settings.App.AuthRequired
    ? $", auth: JWT HS256 required{(settings.App.AllowQueryToken ? " (query token accepted)" : "")}, files: {settings.App.FilesDirectory ?? "disabled"}"
    : $", auth: OPEN (no WS_AUTH_SECRET: anyone may connect), files: {settings.App.FilesDirectory ?? "disabled"}";
Console.WriteLine($"listening on {(settings.Server.Tls is null ? "ws" : "wss")}://{server.LocalEndPoint} ({settings.Mode.ToString().ToLowerInvariant()} mode{details}, pid {Environment.ProcessId})");

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
await stop.Task;
Console.WriteLine("stopping: closing connections with 1001");
await server.StopAsync();
if (app is not null)
{
    await app.DisposeAsync();
}
Console.WriteLine($"stopped (allocated {GC.GetTotalAllocatedBytes(precise: true)} bytes in total)");
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}
