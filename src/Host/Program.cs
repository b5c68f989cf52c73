using System.Net.Sockets;
using Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using GenericHost = Microsoft.Extensions.Hosting.Host;

// The Host is a Generic Host application that embeds the engine through Engine.Hosting (HostServiceCollectionExtensions).
// The empty builder: the default one would add its own configuration (DOTNET_* variables, appsettings.{Environment}.json,
// a second command-line parser that knows none of the Host's flags) and logging providers, where the Host has one
// settings table (HostSettings.Table) and its own log formats.
HostApplicationBuilder builder = GenericHost.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
HostSettings settings;
try
{
    HostConfiguration.Add(builder.Configuration, args, Environment.GetEnvironmentVariable, out bool help);
    settings = HostSettings.FromConfiguration(builder.Configuration, help);
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

// Before anything opens a socket: .NET reads this once, at its first socket.
SocketCompletions.Configure(settings.Server, Environment.GetEnvironmentVariable, Environment.SetEnvironmentVariable);

builder.Logging.AddHostConsole(settings.LogFormat, settings.LogLevel);
// The host logs a failed start at Error and throws it on to StartAsync's caller, which reports it below (a port it cannot
// bind: one "cannot listen" line and exit 1; anything else ends the process with the exception): once is enough.
builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => level >= settings.LogLevel && level != LogLevel.Error);
builder.Services.AddHost(settings);
using IHost host = builder.Build();
try
{
    await host.StartAsync();
}
catch (SocketException exception)
{
    HostLog.CannotListen(host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Host"), settings.Server.Address, settings.Server.Port, exception.Message);
    return 1;
}
// Until SIGTERM or Ctrl-C (the console lifetime): then the host stops the engine (1001 to every client) and the Host.
await host.WaitForShutdownAsync();
return 0;
