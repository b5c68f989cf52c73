using System.Diagnostics;

namespace CrossNode.Setups;

/// <summary>A real redis-server or nats-server (Debian packages) on a free loopback port, pinned with the Hosts, owned by the run.</summary>
internal static class Broker
{
    public static string Binary(string kind) => BrokerCommand.Binary(kind);

    /// <summary>The binary's full path, or null when it is not installed.</summary>
    public static string? Find(string kind) => BrokerCommand.Find(kind);

    /// <summary>Starts the broker with no persistence; its data directory (JetStream's, for NATS) is under <paramref name="workDirectory"/>.</summary>
    public static PinnedProcess Start(string kind, string path, int port, string cpus, string workDirectory, string log)
    {
        var data = Path.Combine(workDirectory, $"{kind}-{port}");
        Directory.CreateDirectory(data);
        return PinnedProcess.Start(cpus, path, BrokerCommand.Arguments(kind, port, data), log);
    }

    /// <summary>The broker's version line (for the report), or "" when it cannot be read.</summary>
    public static string Version(string path)
    {
        try
        {
            var info = new ProcessStartInfo(path, ["--version"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(info)!;
            var text = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(5000))
            {
                p.Kill();
                return "";
            }
            return text.Result.Trim().Split('\n')[0];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }
}
