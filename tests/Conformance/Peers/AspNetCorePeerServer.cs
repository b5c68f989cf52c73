#if CONFORMANCE_ENGINE
using System.Net;
using Engine.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Conformance.Peers;

/// <summary>
/// Our engine behind ASP.NET Core (src/Engine.AspNetCore): Kestrel parses the upgrade, <c>MapEngineWebSockets("/")</c>
/// hands the stream to the engine's echo handler, with the settings of <see cref="EngineUnderTest"/>. Graded as strictly
/// as the engine on its own transports.
/// </summary>
public sealed class AspNetCorePeerServer : IPeerServer
{
    public const string AgentName = EngineUnderTest.AspNetCoreAgentName;

    private readonly WebApplication _app;

    private AspNetCorePeerServer(WebApplication app, int port)
    {
        _app = app;
        Url = new Uri($"ws://127.0.0.1:{port}/");
    }

    public string Agent => AgentName;

    public Uri Url { get; }

    public static async Task<AspNetCorePeerServer> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton<global::Engine.IWebSocketHandler>(new global::Host.EchoHandler());
        builder.Services.AddEngineWebSockets(o => o.Server = EngineUnderTest.Options);
        WebApplication app = builder.Build();
        app.MapEngineWebSockets("/");
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new AspNetCorePeerServer(app, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
#endif
