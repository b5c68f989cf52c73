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
IWebSocketHandler handler = settings.Mode switch
{
    HostSettings.HostMode.Broadcast => new BroadcastHandler(diagnostics),
    _ => new EchoHandler(diagnostics),
};
await using var server = new WebSocketServer(settings.Server, handler);
diagnostics.Server = server;
await server.StartAsync();
Console.WriteLine($"listening on ws://{server.LocalEndPoint} ({settings.Mode.ToString().ToLowerInvariant()} mode, pid {Environment.ProcessId})");

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
await stop.Task;
Console.WriteLine("stopping: closing connections with 1001");
await server.StopAsync();
Console.WriteLine($"stopped (allocated {GC.GetTotalAllocatedBytes(precise: true)} bytes in total)");
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}
