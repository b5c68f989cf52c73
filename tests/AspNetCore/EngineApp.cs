using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Engine.AspNetCore;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Engine.Tests.AspNetCore;

/// <summary>
/// A minimal-API application on Kestrel (a free loopback port) with JWT bearer authentication and the engine mapped on
/// <c>/ws</c> (open) and <c>/rooms/{room}</c> (authorization required), as an application would write it.
/// </summary>
internal sealed class EngineApp : IAsyncDisposable
{
    private static readonly SymmetricSecurityKey SigningKey = new(Encoding.UTF8.GetBytes("a test signing key of at least 32 bytes"));

    private EngineApp(WebApplication app, Uri baseUri)
    {
        App = app;
        BaseUri = baseUri;
        Server = app.Services.GetRequiredService<WebSocketServer>();
    }

    public WebApplication App { get; }

    public WebSocketServer Server { get; }

    /// <summary>http://127.0.0.1:port/ or https://localhost:port/.</summary>
    public Uri BaseUri { get; }

    public Uri WebSocketUri(string pathAndQuery) =>
        new($"{(BaseUri.Scheme == "https" ? "wss" : "ws")}://{BaseUri.Authority}{pathAndQuery}");

    public static async Task<EngineApp> StartAsync(IWebSocketHandler handler, HttpProtocols protocols = HttpProtocols.Http1AndHttp2,
        X509Certificate2? certificate = null, Func<WebSocketServerOptions, WebSocketServerOptions>? configure = null,
        TimeSpan? shutdownTimeout = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(30));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = protocols;
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                IssuerSigningKey = SigningKey,
                ValidateIssuer = false,
                ValidateAudience = false,
                NameClaimType = "name",
            };
        });
        builder.Services.AddAuthorization();
        builder.Services.AddSingleton(handler);
        builder.Services.AddEngineWebSockets(o => o.Server = (configure ?? (s => s))(o.Server with
        {
            TimerResolution = TimeSpan.FromMilliseconds(20),
        }));
        WebApplication app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapEngineWebSockets("/ws");
        app.MapEngineWebSockets("/rooms/{room}").RequireAuthorization();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var uri = new Uri(address);
        return new EngineApp(app, new Uri($"{uri.Scheme}://{(certificate is null ? "127.0.0.1" : "localhost")}:{uri.Port}/"));
    }

    /// <summary>A signed token whose <c>name</c> claim is <paramref name="name"/>.</summary>
    public static string Token(string name) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Claims = new Dictionary<string, object> { ["name"] = name },
        Expires = DateTime.UtcNow.AddMinutes(5),
        SigningCredentials = new SigningCredentials(SigningKey, SecurityAlgorithms.HmacSha256),
    });

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
