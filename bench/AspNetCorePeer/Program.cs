using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AspNetCorePeer;
using Engine;
using Engine.AspNetCore;
using KestrelPeer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Usage: AspNetCorePeer [--port N] [--address A] [--broadcast] [--compression] [--tls-cert PEM --tls-key PEM | --tls-self-signed] [--log-upgrades]
// /ws: the engine through Engine.AspNetCore; /kestrel: Kestrel's WebSocket middleware; /stats: memory and connections;
// /: a page (so a browser holds an HTTP/2 connection its WebSockets can share). With TLS the port speaks HTTP/1.1 and
// HTTP/2 (ALPN); without, HTTP/1.1 only.
int port = 9003;
IPAddress address = IPAddress.Loopback;
bool broadcast = false, compression = false, logUpgrades = false, selfSigned = false;
string? tlsCert = null, tlsKey = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--broadcast": broadcast = true; break;
        case "--echo": broadcast = false; break;
        case "--compression": compression = true; break;
        case "--log-upgrades": logUpgrades = true; break;
        case "--tls-self-signed": selfSigned = true; break;
        case "--port" when i + 1 < args.Length: port = int.Parse(args[++i]); break;
        case "--address" when i + 1 < args.Length: address = IPAddress.Parse(args[++i]); break;
        case "--tls-cert" when i + 1 < args.Length: tlsCert = args[++i]; break;
        case "--tls-key" when i + 1 < args.Length: tlsKey = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}
using X509Certificate2? certificate = tlsCert is not null && tlsKey is not null ? X509Certificate2.CreateFromPemFile(tlsCert, tlsKey)
    : selfSigned ? SelfSigned() : null;

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(address, port, listen =>
    {
        if (certificate is not null)
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }
    });
    // As bench/KestrelPeer: no Kestrel limit caps the connection counts the benchmark opens.
    kestrel.Limits.MaxRequestBodySize = null;
    kestrel.Limits.MaxConcurrentConnections = null;
    kestrel.Limits.MaxConcurrentUpgradedConnections = null;
});
builder.Services.AddSingleton<IWebSocketHandler>(new PeerHandler(broadcast, logUpgrades));
builder.Services.AddEngineWebSockets(o => o.Server = o.Server with
{
    HeartbeatInterval = TimeSpan.Zero, // as the Kestrel side (KeepAliveInterval zero) and the Host in the benchmark
    Compression = new CompressionOptions { Enabled = compression },
});
WebApplication app = builder.Build();
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
app.MapEngineWebSockets("/ws");
var accept = new WebSocketAcceptContext { DangerousEnableCompression = compression };
app.Map("/kestrel", context => KestrelEchoServer.HandleAsync(context, broadcast, accept));
// The benchmark's counters: connections on either side (one side is measured at a time).
WebSocketServer engine = app.Services.GetRequiredService<WebSocketServer>();
app.MapGet("/stats", () => Results.Content(
    $"{{\"allocatedBytes\":{GC.GetTotalAllocatedBytes(precise: true)},\"managedHeap\":{GC.GetTotalMemory(false)}," +
    $"\"connections\":{engine.OpenWebSocketCount + KestrelEchoServer.Connections}}}", "application/json"));
app.MapGet("/", () => Results.Content("<!doctype html><title>engine</title><p>Engine.AspNetCore peer</p>", "text/html"));
await app.StartAsync();
Console.WriteLine($"aspnetcore {(broadcast ? "broadcast" : "echo")}{(compression ? " with permessage-deflate" : "")} listening on " +
    $"{(certificate is null ? "ws" : "wss")}://{address}:{new Uri(app.Urls.First()).Port}/ws (engine) and /kestrel (Kestrel)");
await app.WaitForShutdownAsync();
return 0;

// A throwaway certificate for localhost (the browser test runs Chromium with --ignore-certificate-errors).
static X509Certificate2 SelfSigned()
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
    var names = new SubjectAlternativeNameBuilder();
    names.AddDnsName("localhost");
    names.AddIpAddress(IPAddress.Loopback);
    request.CertificateExtensions.Add(names.Build());
    using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null); // a key SslStream can use on Linux
}
