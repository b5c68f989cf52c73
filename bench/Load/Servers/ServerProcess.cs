using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Load.Servers;

/// <summary>
/// A server under test running as its own process, pinned to CPU 0, its output in a log file.
/// The process is started through <c>exec taskset</c>, so the id we hold is the server's own.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process process;

    private ServerProcess(Process process, ServerKind kind, int port, string log)
    {
        this.process = process;
        Kind = kind;
        Port = port;
        LogPath = log;
    }

    public ServerKind Kind { get; }
    public int Port { get; }
    public string LogPath { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;

    public static ServerProcess Start(ServerKind kind, bool broadcast, int port, string logDirectory, string serverCpu)
    {
        Directory.CreateDirectory(logDirectory);
        var log = Path.Combine(logDirectory, $"{kind.Name}-{(broadcast ? "broadcast" : "echo")}{(kind.Compression ? "-deflate" : "")}-{port}.log");
        var command = "exec taskset -c " + serverCpu + " dotnet " + string.Join(' ', kind.Arguments(broadcast, port).Select(Quote)) + " > " + Quote(log) + " 2>&1";
        var info = new ProcessStartInfo("bash") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + kind.Name);
        var server = new ServerProcess(process, kind, port, log);
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{kind.Label} exited at start (code {process.ExitCode}): {server.LogTail()}");
            }
            if (CanConnect(port))
            {
                return server;
            }
            Thread.Sleep(50);
        }
        server.Dispose();
        throw new InvalidOperationException($"{kind.Label} did not listen on port {port} within 30 s: {server.LogTail()}");
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static bool CanConnect(int port)
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public double CpuSeconds() => ProcStat.CpuSeconds(Pid);

    public long RssBytes() => ProcStat.RssBytes(Pid);

    public ServerStats? Stats() => Kind.HasStats ? ServerStats.Fetch(Port) : null;

    public string LogTail()
    {
        try
        {
            var lines = File.ReadAllLines(LogPath);
            return string.Join(" | ", lines.Skip(Math.Max(0, lines.Length - 5)));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        process.Dispose();
    }
}
