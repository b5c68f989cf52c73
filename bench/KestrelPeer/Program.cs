using Microsoft.Extensions.Hosting;
using System.Net;
using KestrelPeer;

// Usage: KestrelPeer [--port N] [--address A]
var port = 9002;
var address = IPAddress.Loopback;
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--port") port = int.Parse(args[i + 1]);
    else if (args[i] == "--address") address = IPAddress.Parse(args[i + 1]);
}
var (app, bound) = await KestrelEchoServer.StartAsync(address, port);
Console.WriteLine($"kestrel echo listening on ws://{address}:{bound}/");
await app.WaitForShutdownAsync();
