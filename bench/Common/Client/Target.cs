using System.Net;

namespace Bench.Client;

/// <summary>Where the generator connects: a WebSocket server (handshake first) or the raw TCP echo (no handshake).</summary>
internal sealed record Target(IPAddress Address, int Port, string Path, bool WebSocket);
