namespace Load.Servers;

/// <summary>A server under test running as its own process, pinned to the server CPU, its output in a log file.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly PinnedProcess process;

    private ServerProcess(PinnedProcess process, ServerKind kind, int port)
    {
        this.process = process;
        Kind = kind;
        Port = port;
    }

    public ServerKind Kind { get; }
    public int Port { get; }
    public string LogPath => process.LogPath;
    public int Pid => process.Pid;
    public bool HasExited => process.HasExited;

    public static ServerProcess Start(ServerKind kind, bool broadcast, int port, string logDirectory, string serverCpu)
    {
        var log = Path.Combine(logDirectory, $"{kind.Name}-{(broadcast ? "broadcast" : "echo")}{(kind.Compression ? "-deflate" : "")}-{port}.log");
        // A server is a .dll run by `dotnet`, or a native executable (our Host published with Native AOT) run as itself.
        var arguments = kind.Arguments(broadcast, port);
        var (program, programArguments) = kind.Dll.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ("dotnet", arguments) : (kind.Dll, arguments[1..]);
        var server = new ServerProcess(PinnedProcess.Start(serverCpu, program, programArguments, log), kind, port);
        if (server.process.WaitForPort(port, TimeSpan.FromSeconds(30)))
        {
            return server;
        }
        var exited = server.HasExited;
        var message = exited
            ? $"{kind.Label} exited at start (code {server.process.ExitCode}): {server.LogTail()}"
            : $"{kind.Label} did not listen on port {port} within 30 s: {server.LogTail()}";
        server.Dispose();
        throw new InvalidOperationException(message);
    }

    public double CpuSeconds() => process.CpuSeconds();

    public long RssBytes() => process.RssBytes();

    public long AnonRssBytes() => process.AnonRssBytes();

    public ServerStats? Stats() => Kind.HasStats ? ServerStats.Fetch(Port) : null;

    public string LogTail() => process.LogTail();

    public void Dispose() => process.Dispose();
}
