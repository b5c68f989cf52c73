using System.Diagnostics;
using System.Globalization;
using Load.Servers;

namespace Load.Scenarios;

/// <summary>What opening many idle connections cost a server.</summary>
internal sealed record ScaleOutcome(int Requested, int Opened, int Failed, double OpenSeconds, double RssPerConnection, double AnonRssPerConnection, double HeapPerConnection, long ServerConnections, string? Error);

/// <summary>
/// Connection scale: a fresh server, warmed up, its RSS and managed heap read before and after opening N idle WebSocket
/// connections from several connect-worker processes (at most ~8,000 sockets each).
/// </summary>
internal static class ScaleScenario
{
    private const int PerWorker = 8000;

    /// <summary>Connections opened and closed before the baseline is read (see <see cref="Run"/>).</summary>
    private const int WarmUp = 500;

    public static ScaleOutcome Run(ServerProcess server, int connections, ref long nextIndex)
    {
        // A fresh server pages in the code of the accept and upgrade paths with its first connections (about 7 MB of
        // RSS for ours, most of it file-backed): a one-time cost, which a baseline read before any connection charged
        // to the connections (470 B each at 15,000). Every server gets the same warm-up: some connections opened and
        // closed, then the baseline.
        Thread.Sleep(1000);
        Close(Open(server, WarmUp, ref nextIndex, out _, out _, out _));
        Thread.Sleep(1000);
        var rss0 = server.RssBytes();
        var anon0 = server.AnonRssBytes();
        var stats0 = server.Stats();
        var workers = new List<Process>();
        try
        {
            var watch = Stopwatch.StartNew();
            workers = Open(server, connections, ref nextIndex, out int opened, out int failed, out string? error);
            var openSeconds = watch.Elapsed.TotalSeconds;
            BroadcastScenario.WaitForServerToCount(server, opened);
            // Let the server finish whatever it does lazily after the upgrades before reading its memory.
            Thread.Sleep(1500);
            var rss1 = server.RssBytes();
            var anon1 = server.AnonRssBytes();
            var stats1 = server.Stats();
            var heapPer = stats0 is { } s0 && stats1 is { } s1 && s0.ManagedHeap >= 0 && opened > 0 ? (double)(s1.ManagedHeap - s0.ManagedHeap) / opened : double.NaN;
            var rssPer = rss0 > 0 && rss1 > 0 && opened > 0 ? (double)(rss1 - rss0) / opened : double.NaN;
            // The RSS less the file-backed pages (code of the server's binary and libraries paged in during the ramp,
            // a one-time cost that the RSS reading divides by the connections).
            var anonPer = anon0 > 0 && anon1 > 0 && opened > 0 ? (double)(anon1 - anon0) / opened : double.NaN;
            if (server.HasExited)
            {
                error ??= "server exited: " + server.LogTail();
            }
            return new ScaleOutcome(connections, opened, failed, openSeconds, rssPer, anonPer, heapPer, stats1?.Connections ?? -1, error);
        }
        finally
        {
            Close(workers);
        }
    }

    /// <summary>Opens <paramref name="connections"/> idle connections from connect workers; returns the workers holding them.</summary>
    private static List<Process> Open(ServerProcess server, int connections, ref long nextIndex, out int opened, out int failed, out string? error)
    {
        var workerCount = (connections + PerWorker - 1) / PerWorker;
        var workers = new List<Process>();
        error = null;
        opened = failed = 0;
        try
        {
            for (var w = 0; w < workerCount; w++)
            {
                var count = connections / workerCount + (w < connections % workerCount ? 1 : 0);
                var info = CpuPinning.SelfStartInfo("--connect-worker", "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--count", count.ToString(CultureInfo.InvariantCulture),
                    "--first", nextIndex.ToString(CultureInfo.InvariantCulture), "--threads", "16", "--path", server.Kind.Path);
                nextIndex += count;
                info.RedirectStandardInput = true;
                info.RedirectStandardOutput = true;
                var p = Process.Start(info) ?? throw new InvalidOperationException("could not start a connect worker");
                workers.Add(p);
            }
            foreach (var p in workers)
            {
                if (p.StandardOutput.ReadLine() != "ready")
                {
                    throw new InvalidOperationException("connect worker did not start");
                }
            }
            foreach (var p in workers)
            {
                p.StandardInput.WriteLine("go");
                p.StandardInput.Flush();
            }
            foreach (var p in workers)
            {
                var line = p.StandardOutput.ReadLine() ?? "connected 0 0 0 worker-died";
                var parts = line.Split(' ', 5);
                opened += int.Parse(parts[1], CultureInfo.InvariantCulture);
                failed += int.Parse(parts[2], CultureInfo.InvariantCulture);
                if (parts.Length > 4 && parts[4] != "-")
                {
                    error ??= parts[4];
                }
            }
            return workers;
        }
        catch
        {
            Close(workers);
            throw;
        }
    }

    /// <summary>Tells the workers to close their connections and waits for them to exit.</summary>
    private static void Close(List<Process> workers)
    {
        foreach (var p in workers)
        {
            try
            {
                p.StandardInput.WriteLine("close");
                p.StandardInput.Flush();
            }
            catch (IOException)
            {
            }
        }
        foreach (var p in workers)
        {
            if (!p.WaitForExit(20_000))
            {
                p.Kill();
            }
            p.Dispose();
        }
        workers.Clear();
    }
}
