using System.Diagnostics;

namespace CrossNode.Setups;

/// <summary>A real redis-server or nats-server (Debian packages) on a free loopback port, pinned with the Hosts, owned by the run.</summary>
internal static class Broker
{
    public static string Binary(string kind) => kind == "redis" ? "redis-server" : "nats-server";

    /// <summary>The binary's full path, or null when it is not installed.</summary>
    public static string? Find(string kind) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Select(dir => Path.Combine(dir, Binary(kind))).FirstOrDefault(File.Exists);

    /// <summary>Starts the broker with no persistence; its data directory (JetStream's, for NATS) is under <paramref name="workDirectory"/>.</summary>
    public static PinnedProcess Start(string kind, string path, int port, string cpus, string workDirectory, string log)
    {
        var data = Path.Combine(workDirectory, $"{kind}-{port}");
        Directory.CreateDirectory(data);
        string[] arguments = kind == "redis"
            ? ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", data]
            // JetStream on: a history backplane over NATS may keep channel history in streams.
            : ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", data];
        return PinnedProcess.Start(cpus, path, arguments, log);
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
