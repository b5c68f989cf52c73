using Microsoft.Extensions.Hosting;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using KestrelPeer;

// Usage: KestrelPeer [--port N] [--address A] [--broadcast] [--tls-cert PEM --tls-key PEM] [--compression]
var port = 9002;
var address = IPAddress.Loopback;
var broadcast = false;
string? tlsCert = null, tlsKey = null;
var compression = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--broadcast") broadcast = true;
    else if (args[i] == "--compression") compression = true;
    else if (args[i] == "--echo") broadcast = false;
    else if (i + 1 < args.Length && args[i] == "--port") port = int.Parse(args[++i]);
    else if (i + 1 < args.Length && args[i] == "--address") address = IPAddress.Parse(args[++i]);
    else if (i + 1 < args.Length && args[i] == "--tls-cert") tlsCert = args[++i];
    else if (i + 1 < args.Length && args[i] == "--tls-key") tlsKey = args[++i];
}
// The same PEM files our Host reads (WS_TLS_CERT/WS_TLS_KEY), loaded the same way.
using var certificate = tlsCert is not null && tlsKey is not null ? X509Certificate2.CreateFromPemFile(tlsCert, tlsKey) : null;
var (app, bound) = await KestrelEchoServer.StartAsync(address, port, broadcast, certificate, compression);
Console.WriteLine($"kestrel {(broadcast ? "broadcast" : "echo")}{(compression ? " with permessage-deflate" : "")} listening on {(certificate is null ? "ws" : "wss")}://{address}:{bound}/");
await app.WaitForShutdownAsync();
