using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Bench.Processes;

/// <summary>
/// A program under test (a server, a broker) running as its own process pinned with taskset, its output in a log file.
/// It is started through <c>exec taskset</c>, so the id we hold is the program's own and its /proc CPU time is the
/// program's alone.
/// </summary>
internal sealed class PinnedProcess : IDisposable
{
    private readonly Process process;

    private PinnedProcess(Process process, string log)
    {
        this.process = process;
        LogPath = log;
    }

    public string LogPath { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

    /// <summary>Starts <paramref name="program"/> on <paramref name="cpus"/> (taskset list syntax) with extra environment variables; output goes to <paramref name="log"/>.</summary>
    public static PinnedProcess Start(string cpus, string program, IEnumerable<string> arguments, string log, IReadOnlyDictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(log))!);
        var command = "exec taskset -c " + cpus + " " + Quote(program) + " " + string.Join(' ', arguments.Select(Quote)) + " > " + Quote(log) + " 2>&1";
        var info = new ProcessStartInfo("bash") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + program);
        return new PinnedProcess(process, log);
    }

    /// <summary>
    /// Waits until something accepts TCP connections on the loopback <paramref name="port"/>; false if the process exits
    /// first or <paramref name="timeout"/> passes.
    /// </summary>
    public bool WaitForPort(int port, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                return false;
            }
            if (CanConnect(port))
            {
                return true;
            }
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>A loopback port nothing listens on right now (the kernel's pick; another process could take it before we do, rarely).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static bool CanConnect(int port)
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

    public long AnonRssBytes() => ProcStat.AnonRssBytes(Pid);

    /// <summary>The last <paramref name="lines"/> lines of the log, joined with " | ".</summary>
    public string LogTail(int lines = 5)
    {
        try
        {
            var all = File.ReadAllLines(LogPath);
            return string.Join(" | ", all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

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
