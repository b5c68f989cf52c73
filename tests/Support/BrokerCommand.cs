using System.Globalization;

namespace Engine.Tests.Support;

/// <summary>
/// How the backplane tests (tests/Backplane) and the cross-node benchmark (bench/CrossNode) start a real broker: the
/// Debian package's binary and the command line, so both run Redis and NATS configured alike. Each starts and owns the
/// process its own way (the tests restart it, the benchmark pins it to a CPU).
/// </summary>
internal static class BrokerCommand
{
    /// <summary>The binary of <paramref name="kind"/> (<c>redis</c> or <c>nats</c>).</summary>
    public static string Binary(string kind) => kind == "redis" ? "redis-server" : "nats-server";

    /// <summary>The binary's full path from PATH, or null when it is not installed.</summary>
    public static string? Find(string kind) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Select(dir => Path.Combine(dir, Binary(kind))).FirstOrDefault(File.Exists);

    /// <summary>
    /// The arguments for a broker on 127.0.0.1:<paramref name="port"/> with its data under <paramref name="dataDirectory"/>:
    /// Redis without persistence (a restart starts empty), NATS with JetStream on (history backplanes keep channels in
    /// streams) and, when <paramref name="monitorPort"/> is not 0, its HTTP monitoring endpoint there.
    /// </summary>
    public static string[] Arguments(string kind, int port, string dataDirectory, int monitorPort = 0)
    {
        string portText = port.ToString(CultureInfo.InvariantCulture);
        if (kind == "redis")
        {
            return ["--port", portText, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dataDirectory];
        }
        return monitorPort == 0
            ? ["-a", "127.0.0.1", "-p", portText, "-js", "-sd", dataDirectory]
            : ["-a", "127.0.0.1", "-p", portText, "-m", monitorPort.ToString(CultureInfo.InvariantCulture), "-js", "-sd", dataDirectory];
    }
}
