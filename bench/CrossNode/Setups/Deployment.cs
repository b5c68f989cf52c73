using System.Globalization;

namespace CrossNode.Setups;

/// <summary>How the setups' processes are started.</summary>
internal sealed record DeployOptions(string HostDll, string ServerCpu, string LogDirectory, string WorkDirectory, int HistorySize, string? HistoryUnsupported);

/// <summary>
/// The processes of one setup, started once and kept for every repetition: the broker (two-node setups) and the Host
/// nodes, all pinned to the server CPU. A setup that cannot run (broker not installed, the Host refusing the backplane
/// URL or the history settings, a process dying) carries the reason instead and is reported as skipped.
/// </summary>
internal sealed class Deployment : IDisposable
{
    private Deployment(SetupSpec spec) => Spec = spec;

    public SetupSpec Spec { get; }
    public string? SkipReason { get; private set; }
    public PinnedProcess? Broker { get; private set; }
    public PinnedProcess? NodeA { get; private set; }
    public PinnedProcess? NodeB { get; private set; }
    public int PortA { get; private set; }
    public int PortB { get; private set; }
    public string? BackplaneUrl { get; private set; }

    public bool Runnable => SkipReason is null;
    public int PublisherPort => PortA;
    public int SubscriberPort => Spec.TwoNodes ? PortB : PortA;

    /// <summary>The processes whose CPU time is reported, by role.</summary>
    public IEnumerable<(string Role, PinnedProcess Process)> Processes()
    {
        if (NodeA is not null)
        {
            yield return ("node A", NodeA);
        }
        if (NodeB is not null)
        {
            yield return ("node B", NodeB);
        }
        if (Broker is not null)
        {
            yield return ("broker", Broker);
        }
    }

    /// <summary>A process of this setup that is no longer running, described, or null when all run.</summary>
    public string? Dead() => Processes().Where(p => p.Process.HasExited).Select(p => $"{p.Role} exited (code {p.Process.ExitCode}): {p.Process.LogTail(3)}").FirstOrDefault();

    public void Skip(string reason)
    {
        SkipReason ??= reason;
        DisposeProcesses();
    }

    /// <summary>Starts every setup's broker, then every Host at once (they start in parallel), then waits for each.</summary>
    public static List<Deployment> StartAll(IEnumerable<SetupSpec> specs, DeployOptions options, Action<string> progress)
    {
        var deployments = specs.Select(s => new Deployment(s)).ToList();
        foreach (var d in deployments.Where(d => d.Spec.TwoNodes))
        {
            var kind = d.Spec.Broker!;
            if (d.Spec.History && options.HistoryUnsupported is { } why)
            {
                d.Skip(why);
                continue;
            }
            if (Setups.Broker.Find(kind) is not { } path)
            {
                d.Skip($"{Setups.Broker.Binary(kind)} is not installed (apt-get install {Setups.Broker.Binary(kind)})");
                continue;
            }
            var port = PinnedProcess.FreeLoopbackPort();
            d.Broker = Setups.Broker.Start(kind, path, port, options.ServerCpu, options.WorkDirectory, Path.Combine(options.LogDirectory, $"{d.Spec.Name}-{kind}.log"));
            if (!d.Broker.WaitForPort(port, TimeSpan.FromSeconds(15)))
            {
                d.Skip($"{Setups.Broker.Binary(kind)} did not listen on port {port}: {d.Broker.LogTail(3)}");
                continue;
            }
            d.BackplaneUrl = $"{kind}://127.0.0.1:{port}";
        }
        foreach (var d in deployments.Where(d => d.Runnable))
        {
            (d.NodeA, d.PortA) = StartHost(d, "a", options);
            if (d.Spec.TwoNodes)
            {
                (d.NodeB, d.PortB) = StartHost(d, "b", options);
            }
        }
        foreach (var d in deployments.Where(d => d.Runnable))
        {
            foreach (var (node, port) in new[] { (d.NodeA, d.PortA), (d.NodeB, d.PortB) })
            {
                if (node is not null && d.Runnable && !node.WaitForPort(port, TimeSpan.FromSeconds(60)))
                {
                    d.Skip(node.HasExited
                        ? $"the Host exited at start (exit code {node.ExitCode}): {FirstError(node)}"
                        : $"the Host did not listen on port {port} within 60 s: {node.LogTail(3)}");
                }
            }
            progress(d.Runnable
                ? $"  {d.Spec.Label}: {(d.Spec.TwoNodes ? $"node A :{d.PortA}, node B :{d.PortB}, {d.BackplaneUrl}" : $"node :{d.PortA}")}"
                : $"  {d.Spec.Label}: SKIPPED: {d.SkipReason}");
        }
        return deployments;
    }

    private static (PinnedProcess, int) StartHost(Deployment d, string node, DeployOptions options)
    {
        var port = PinnedProcess.FreeLoopbackPort();
        var environment = new Dictionary<string, string>
        {
            ["WS_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["WS_ADDRESS"] = "127.0.0.1",
            ["WS_MODE"] = "app",
        };
        if (d.BackplaneUrl is { } url)
        {
            environment["WS_BACKPLANE"] = url;
        }
        if (d.Spec.History)
        {
            environment["WS_HISTORY_SIZE"] = options.HistorySize.ToString(CultureInfo.InvariantCulture);
        }
        var log = Path.Combine(options.LogDirectory, $"{d.Spec.Name}-node-{node}.log");
        return (PinnedProcess.Start(options.ServerCpu, "dotnet", [options.HostDll], log, environment), port);
    }

    /// <summary>The Host's own words on why it stopped: its first "error" line, else the log's tail.</summary>
    private static string FirstError(PinnedProcess node)
    {
        try
        {
            return File.ReadLines(node.LogPath).FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))?.Trim() ?? node.LogTail(3);
        }
        catch (IOException)
        {
            return node.LogTail(3);
        }
    }

    private void DisposeProcesses()
    {
        NodeA?.Dispose();
        NodeB?.Dispose();
        Broker?.Dispose();
        NodeA = NodeB = Broker = null;
    }

    public void Dispose() => DisposeProcesses();
}
