using Microsoft.Extensions.Hosting;
using System.Net;
using KestrelPeer;

// Usage: KestrelPeer [--port N] [--address A] [--broadcast]
var port = 9002;
var address = IPAddress.Loopback;
var broadcast = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--broadcast") broadcast = true;
    else if (args[i] == "--echo") broadcast = false;
    else if (i + 1 < args.Length && args[i] == "--port") port = int.Parse(args[++i]);
    else if (i + 1 < args.Length && args[i] == "--address") address = IPAddress.Parse(args[++i]);
}
var (app, bound) = await KestrelEchoServer.StartAsync(address, port, broadcast);
Console.WriteLine($"kestrel {(broadcast ? "broadcast" : "echo")} listening on ws://{address}:{bound}/");
await app.WaitForShutdownAsync();
