namespace Conformance.Peers;

/// <summary>
/// The hook for our engine. While src/Engine and src/Host are being written it is off and the xunit suite grades
/// Kestrel in its place; to switch it on set <c>&lt;ConformanceEngine&gt;true&lt;/ConformanceEngine&gt;</c> in
/// Conformance.csproj (that also adds the project references and defines CONFORMANCE_ENGINE).
/// </summary>
public static class EngineUnderTest
{
    public const string AgentName = "Engine";

    /// <summary>The agent name of the engine behind ASP.NET Core (<c>AspNetCorePeerServer</c>, wired with the engine).</summary>
    public const string AspNetCoreAgentName = "Engine.AspNetCore";

#if CONFORMANCE_ENGINE
    public const bool IsWired = true;

    /// <summary>The settings graded, shared with <see cref="AspNetCorePeerServer"/> (which listens through Kestrel instead).</summary>
    public static global::Engine.WebSocketServerOptions Options => new()
    {
        Address = System.Net.IPAddress.Loopback,
        Port = 0,
        // No server pings, as the Kestrel peer: a ping is an event the fuzzer records, and sections 12/13 run past 30 s.
        HeartbeatInterval = TimeSpan.Zero,
        // Sections 12 and 13 offer permessage-deflate; the other sections never do, so this changes nothing for them.
        // Level 1 only lowers zlib's effort (the same code paths run): 216 cases of 1000 messages cost minutes of CPU at level 6.
        Compression = new global::Engine.CompressionOptions { Enabled = true, Level = 1 },
    };

    public static async Task<IPeerServer> StartAsync()
    {
        var server = new global::Engine.WebSocketServer(Options, new global::Host.EchoHandler());
        await server.StartAsync();
        return new Peer(server, new Uri($"ws://127.0.0.1:{server.LocalEndPoint.Port}/"));
    }

    private sealed class Peer(global::Engine.WebSocketServer server, Uri url) : IPeerServer
    {
        public string Agent => AgentName;
        public Uri Url => url;

        public async ValueTask DisposeAsync()
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
    }
#else
    public const bool IsWired = false;

    public static Task<IPeerServer> StartAsync() =>
        throw new InvalidOperationException("The engine is not wired in yet: set ConformanceEngine to true in Conformance.csproj.");
#endif
}
