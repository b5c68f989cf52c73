using System.Globalization;
using System.Net;
using Load.Client;

namespace Load.Scenarios;

/// <summary>
/// The child side of the connection-scale scenario (<c>--connect-worker</c>): one process holds at most ~9,000
/// sockets, well inside the 20,000 open-files limit. Talks to the parent over stdin/stdout:
/// prints <c>ready</c>, waits for <c>go</c>, connects, prints <c>connected OK FAILED MS ERROR</c>, waits for <c>close</c>.
/// </summary>
internal static class ConnectWorker
{
    public static int Run(int port, string path, int count, long firstIndex, int threads)
    {
        Console.Out.Flush();
        Console.WriteLine("ready");
        if (Console.ReadLine() != "go")
        {
            return 2;
        }
        var target = new Target(IPAddress.Loopback, port, path, WebSocket: true);
        var batch = Connector.ConnectMany(target, count, firstIndex, threads);
        var ok = batch.Sockets.Count(s => s is not null);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"connected {ok} {batch.Failed} {batch.Elapsed.TotalMilliseconds:F0} {(batch.FirstError ?? "-").Replace('\n', ' ')}"));
        // Hold the connections until told to close (or until the parent goes away), at most 10 minutes.
        var line = Task.Run(Console.ReadLine);
        line.Wait(TimeSpan.FromMinutes(10));
        foreach (var s in batch.Sockets)
        {
            if (s is not null)
            {
                Connector.CloseQuickly(s, webSocket: true);
            }
        }
        Console.WriteLine("closed");
        return 0;
    }
}
