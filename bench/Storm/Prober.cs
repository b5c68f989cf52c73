using System.Diagnostics;
using System.Net;

namespace Storm;

/// <summary>
/// The fresh client the storm must not starve: every <c>--probe-every</c> a new connection (from 127.0.0.1, a source
/// address no storm client uses) connects, upgrades and gets one echo back, timed from the connect to the echo, then
/// closes cleanly. A failure is a probe too, timed to when it failed.
/// </summary>
internal sealed class Prober(IPEndPoint server, TimeSpan every, Stopwatch clock)
{
    private readonly List<ProbeResult> _results = [];

    public IReadOnlyList<ProbeResult> Results
    {
        get
        {
            lock (_results)
            {
                return [.. _results];
            }
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        var peer = new WirePeer(server, IPAddress.Loopback);
        while (!stop.IsCancellationRequested)
        {
            long at = clock.ElapsedMilliseconds;
            var watch = Stopwatch.StartNew();
            string? error = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await peer.ConnectAndEchoAsync(timeout.Token);
                watch.Stop();
                await peer.CloseCleanlyAsync(timeout.Token);
            }
            catch (Exception exception) when (exception is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                watch.Stop();
                peer.Dispose(reset: true);
                error = $"{exception.GetType().Name}: {exception.Message}";
            }
            lock (_results)
            {
                _results.Add(new ProbeResult(at, watch.Elapsed.TotalMilliseconds, peer.LastPhases.Connected, peer.LastPhases.Upgraded, error));
            }
            // The next probe starts `every` after this one started (or at once, if this one took longer).
            TimeSpan wait = TimeSpan.FromMilliseconds(at) + every - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
