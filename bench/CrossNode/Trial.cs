using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CrossNode.Client;
using CrossNode.Setups;

namespace CrossNode;

/// <summary>Sizes and durations of one trial; full and quick runs differ only in durations and repetitions.</summary>
internal sealed record TrialOptions(TimeSpan Warmup, TimeSpan LatencyMeasure, TimeSpan ThroughputMeasure, double Rate, int LatencySubscribers, int Subscribers, int Window)
{
    public string LatencyCell => $"1 publisher → {LatencySubscribers} subscribers, {Rate:N0} msg/s offered ({Rate * LatencySubscribers:N0} deliveries/s), 64 B content";
    public string ThroughputCell => $"1 publisher → {Subscribers} subscribers, {Window} messages unfinished at most, 64 B content";
}

/// <summary>
/// One repetition of one setup. Publisher on node A, subscribers on node B (the same node in the single-node setup),
/// all on the generator's single event loop thread:
/// <list type="number">
/// <item>connect; every subscriber joins the throughput channel, the first <c>LatencySubscribers</c> also the latency channel; wait for every <c>subscribed</c>;</item>
/// <item>probe: publish to both channels every 20 ms until every subscriber has received one on each of its channels
/// (so the broker subscriptions are live end to end before anything is measured);</item>
/// <item>latency: open loop at a fixed rate on the latency channel, warm-up, then the measured window; every delivery
/// timed from when its message was due (the timestamp is inside the message), in HdrHistogram;</item>
/// <item>throughput: closed loop with a window of unfinished messages on the throughput channel; deliveries/s counted
/// over the window;</item>
/// <item>server CPU: utime+stime of node A, node B and the broker from /proc across each measured window.</item>
/// </list>
/// Channel names are new for every trial, so no trial sees another's messages or history.
/// </summary>
internal static class Trial
{
    public const string Latency = "latency at a fixed rate";
    public const string Throughput = "throughput";

    private static readonly (string Label, double Percentile)[] Percentiles = [("p50", 50), ("p99", 99), ("p99.9", 99.9), ("max", 100)];

    public static bool Run(Deployment deployment, int rep, TrialOptions options, ResultSet results, Action<string> progress)
    {
        var setup = deployment.Spec;
        var name = setup.Name;
        var freq = Stopwatch.Frequency;
        var latencyChannel = $"xn{rep}-{name}-lat";
        var throughputChannel = $"xn{rep}-{name}-tput";
        var latencyPrefix = AppMessages.PublishPrefix(latencyChannel);
        var throughputPrefix = AppMessages.PublishPrefix(throughputChannel);
        var trackers = new PhaseTrackers();
        var sockets = new List<Socket>();
        using var loop = new EventLoop();
        try
        {
            Socket publisherSocket;
            byte[] publisherLeftover;
            Connector.Batch batch;
            try
            {
                publisherSocket = Connector.Connect(new Target(IPAddress.Loopback, deployment.PublisherPort, "/", true), Connector.NextIndices(1), out publisherLeftover);
                sockets.Add(publisherSocket);
                batch = Connector.ConnectMany(new Target(IPAddress.Loopback, deployment.SubscriberPort, "/", true), options.Subscribers, Connector.NextIndices(options.Subscribers), 8);
                sockets.AddRange(batch.Sockets.OfType<Socket>());
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                return Fail(results, setup, rep, "publisher could not connect: " + e.Message);
            }
            if (batch.Failed > 0)
            {
                return Fail(results, setup, rep, $"{batch.Failed} of {options.Subscribers} subscribers could not connect: {batch.FirstError}");
            }

            var publisher = new AppConnection(publisherSocket, trackers);
            loop.Add(publisher, ticks: true);
            publisher.Accept(publisherLeftover);
            var subscribers = new List<AppConnection>();
            for (var i = 0; i < batch.Sockets.Length; i++)
            {
                var s = new AppConnection(batch.Sockets[i]!, trackers);
                loop.Add(s, ticks: false);
                s.Accept(batch.Leftovers[i]);
                if (i < options.LatencySubscribers)
                {
                    s.SendText(AppMessages.Subscribe(latencyChannel));
                }
                s.SendText(AppMessages.Subscribe(throughputChannel));
                s.Flush();
                subscribers.Add(s);
            }
            var all = subscribers.Append(publisher).ToList();
            int ChannelsOf(int i) => i < options.LatencySubscribers ? 2 : 1;

            loop.Run(Stopwatch.GetTimestamp() + 10 * freq, () => AnyClosed(all) || subscribers.Select((s, i) => s.Subscribed >= ChannelsOf(i)).All(x => x));
            if (Problem(all) is not null || subscribers.Select((s, i) => s.Subscribed < ChannelsOf(i)).Any(x => x))
            {
                return Fail(results, setup, rep, "subscribing did not complete within 10 s" + (Problem(all) is { } p ? ": " + p : ""));
            }
            var withPosition = subscribers.Sum(s => s.SubscribedWithPosition);
            if (setup.History && withPosition == 0)
            {
                results.Note($"{setup.Label}: no `subscribed` carried an offset/epoch, so history was not on in this run");
            }
            else if (!setup.History && withPosition > 0)
            {
                results.Note($"{setup.Label}: `subscribed` carried an offset/epoch although history was not asked for");
            }

            // Both channels' broker subscriptions must be live before anything is timed.
            int ProbeMask(int i) => i < options.LatencySubscribers ? 0b11 : 0b10;
            publisher.Plan = new ProbePlan([latencyPrefix, throughputPrefix]);
            var probeStart = Stopwatch.GetTimestamp();
            loop.Run(probeStart + 15 * freq, () => AnyClosed(all) || subscribers.Select((s, i) => (s.ProbesSeen & ProbeMask(i)) == ProbeMask(i)).All(x => x));
            publisher.Plan = null;
            var unready = subscribers.Select((s, i) => (s.ProbesSeen & ProbeMask(i)) != ProbeMask(i)).Count(x => x);
            if (unready > 0 || Problem(all) is not null)
            {
                return Fail(results, setup, rep, $"{unready} subscribers never received a probe within 15 s{(Problem(all) is { } p ? ": " + p : "")}");
            }
            var readyMs = (Stopwatch.GetTimestamp() - probeStart) * 1000.0 / freq;

            // Latency: fixed rate, open loop.
            var start = Stopwatch.GetTimestamp() + freq / 20;
            var from = start + Ticks(options.Warmup);
            var until = from + Ticks(options.LatencyMeasure);
            var latency = new DeliveryTracker(options.LatencySubscribers, Histograms.New(), from, until);
            trackers.Latency = latency;
            var fixedRate = new FixedRatePlan(latencyPrefix, latency, (long)(freq / options.Rate), start, until);
            publisher.Plan = fixedRate;
            var (l0, l1) = RunMeasured(loop, deployment, from, until, () => Stopwatch.GetTimestamp() >= until && latency.Unfinished == 0);
            publisher.Plan = null;
            trackers.Latency = null;
            var latencyCell = options.LatencyCell;
            foreach (var (label, p) in Percentiles)
            {
                results.Add(Latency, latencyCell, label, "µs", false, name, Histograms.Micros(latency.Latency, p));
            }
            var window = Timing.Seconds(until - from);
            results.Add(Latency, latencyCell, "published/s achieved", "msg/s", true, name, latency.PublishedInWindow / window);
            results.Add(Latency, latencyCell, "deliveries missed", "msgs", false, name, latency.MissedInWindow);
            AddCpu(results, Latency, latencyCell, name, l0, l1, deliveries: double.NaN);
            if (latency.MissedInWindow > 0 || fixedRate.Skipped > 0)
            {
                results.Note($"{setup.Label}, rep {rep + 1}: latency: {latency.MissedInWindow:N0} in-window deliveries not received within 2 s, {fixedRate.Skipped:N0} due messages not sent (publisher blocked)");
            }

            // Throughput: closed loop, a window of unfinished messages.
            start = Stopwatch.GetTimestamp() + freq / 20;
            from = start + Ticks(options.Warmup);
            until = from + Ticks(options.ThroughputMeasure);
            var throughput = new DeliveryTracker(options.Subscribers, Histograms.New(), from, until);
            trackers.Throughput = throughput;
            publisher.Plan = new WindowPlan(throughputPrefix, throughput, options.Window, until);
            var (t0, t1) = RunMeasured(loop, deployment, from, until, () => Stopwatch.GetTimestamp() >= until && throughput.Unfinished == 0, () => throughput.Deliveries);
            publisher.Plan = null;
            trackers.Throughput = null;
            var throughputCell = options.ThroughputCell;
            var seconds = t1.Seconds - t0.Seconds;
            var delivered = t1.Deliveries - t0.Deliveries;
            results.Add(Throughput, throughputCell, "deliveries/s", "msg/s", true, name, delivered / seconds);
            AddCpu(results, Throughput, throughputCell, name, t0, t1, delivered);
            results.Add(Throughput, throughputCell, "publish→receive p50 at saturation", "µs", false, name, Histograms.Micros(throughput.Latency, 50));
            results.Add(Throughput, throughputCell, "publish→receive p99 at saturation", "µs", false, name, Histograms.Micros(throughput.Latency, 99));
            results.Add(Throughput, throughputCell, "deliveries missed", "msgs", false, name, throughput.Missed);
            if (throughput.Missed > 0)
            {
                results.Note($"{setup.Label}, rep {rep + 1}: throughput: {throughput.Missed:N0} deliveries not received within 2 s (given up on)");
            }
            if (Problem(all) is { } problem)
            {
                results.Note($"{setup.Label}, rep {rep + 1}: {problem}");
            }
            if (subscribers.Concat([publisher]).FirstOrDefault(s => s.ServerError is not null)?.ServerError is { } error)
            {
                results.Note($"{setup.Label}, rep {rep + 1}: the server sent an error: {error}");
            }

            progress($"  {setup.Label,-34} rep {rep + 1}: ready in {readyMs:N0} ms; latency p50 {Format.Number(Histograms.Micros(latency.Latency, 50))} µs, " +
                $"p99 {Format.Number(Histograms.Micros(latency.Latency, 99))} µs, max {Format.Number(Histograms.Micros(latency.Latency, 100))} µs, missed {latency.MissedInWindow}; " +
                $"throughput {Format.Number(delivered / seconds)} deliveries/s ({CpuText(t0, t1)}; generator {Format.Number((t1.Generator - t0.Generator) / seconds)})");
            return true;
        }
        finally
        {
            foreach (var s in sockets)
            {
                Connector.CloseQuickly(s, webSocket: true);
            }
        }
    }

    /// <summary>CPU seconds per process, the generator's own, and a delivery count at one instant.</summary>
    private sealed record Sample(double Seconds, Dictionary<string, double> Cpu, double Generator, long Deliveries);

    /// <summary>Runs the loop on its own thread until <paramref name="stop"/> (or 2.5 s after the window), sampling CPU at the window's edges.</summary>
    private static (Sample, Sample) RunMeasured(EventLoop loop, Deployment deployment, long from, long until, Func<bool> stop, Func<long>? deliveries = null)
    {
        // The loop runs on this thread, as in the set-up phases, and a helper samples. The kernel cancels the io_uring
        // requests a thread submitted when that thread exits: with a loop thread per phase, every receive it had armed
        // ended with ECANCELED and the next phase received nothing (the smoke's throughput phase: 0 deliveries/s).
        Sample s0 = null!, s1 = null!;
        var sampler = new Thread(() =>
        {
            Timing.SleepUntil(from);
            s0 = Take(deployment, deliveries);
            Timing.SleepUntil(until);
            s1 = Take(deployment, deliveries);
        }) { IsBackground = true, Name = "crossnode-sampler" };
        sampler.Start();
        loop.Run(until + Ticks(TimeSpan.FromSeconds(2.5)), stop);
        sampler.Join();
        return (s0, s1);
    }

    private static Sample Take(Deployment deployment, Func<long>? deliveries) =>
        new(Timing.Seconds(Stopwatch.GetTimestamp()), deployment.Processes().ToDictionary(p => p.Role, p => p.Process.CpuSeconds()),
            ProcStat.CpuSeconds(Environment.ProcessId), deliveries?.Invoke() ?? 0);

    /// <summary>CPU use (cores) per process and of the generator; with a delivery count, deliveries per server CPU-second (nodes and broker together).</summary>
    private static void AddCpu(ResultSet results, string scenario, string cell, string setup, Sample s0, Sample s1, double deliveries)
    {
        var seconds = s1.Seconds - s0.Seconds;
        var total = 0.0;
        foreach (var role in new[] { "node A", "node B", "broker" })
        {
            var used = s0.Cpu.TryGetValue(role, out var c0) && s1.Cpu.TryGetValue(role, out var c1) ? c1 - c0 : double.NaN;
            results.Add(scenario, cell, $"CPU {role}", "cores", false, setup, used / seconds);
            total += double.IsNaN(used) ? 0 : used;
        }
        results.Add(scenario, cell, "CPU generator", "cores", false, setup, (s1.Generator - s0.Generator) / seconds);
        if (!double.IsNaN(deliveries))
        {
            results.Add(scenario, cell, "deliveries per server CPU-s", "msg/CPU-s", true, setup, total > 0 ? deliveries / total : double.NaN);
        }
    }

    private static string CpuText(Sample s0, Sample s1)
    {
        var seconds = s1.Seconds - s0.Seconds;
        return string.Join(", ", s1.Cpu.Keys.Select(role => $"{role} {((s1.Cpu[role] - s0.Cpu[role]) / seconds).ToString("0.00", CultureInfo.InvariantCulture)}"));
    }

    private static bool AnyClosed(List<AppConnection> connections) => connections.Any(c => c.Closed);

    private static string? Problem(List<AppConnection> connections) =>
        connections.FirstOrDefault(c => c.Closed)?.Error is { } e ? "a connection failed: " + e : null;

    private static bool Fail(ResultSet results, SetupSpec setup, int rep, string why)
    {
        results.Note($"{setup.Label}, rep {rep + 1}: not measured: {why}");
        return false;
    }

    private static long Ticks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);
}
