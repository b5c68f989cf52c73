using System.Diagnostics;
using System.Net.Sockets;
using Load.Client;
using Load.Servers;

namespace Load.Scenarios;

/// <summary>
/// One publisher, many subscribers, the server relaying each message to every other connection. The publisher keeps a
/// few messages unfinished (not yet received by every subscriber), so deliveries/s is what the server sustains, and
/// latency is from the publisher's send to each subscriber's receive.
/// </summary>
internal static class BroadcastScenario
{
    public const int Window = 16;

    public static Measurement Run(ServerProcess server, Target target, int subscribers, TimeSpan warmup, TimeSpan measure)
    {
        var batch = Connector.ConnectMany(target, subscribers, Connector.NextIndices(subscribers), 16);
        var result = new Measurement { Failed = batch.Failed, Error = batch.FirstError };
        Socket? publisherSocket = null;
        try
        {
            publisherSocket = Connector.Connect(target, Connector.NextIndices(1), out _);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
        {
            result.Error = "publisher: " + e.Message;
        }
        var live = batch.Sockets.Count(s => s is not null);
        WaitForServerToCount(server, live + 1);

        var freq = Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp() + freq / 20;
        var measureFrom = start + (long)(warmup.TotalSeconds * freq);
        var measureUntil = measureFrom + (long)(measure.TotalSeconds * freq);
        var histogram = Measurement.NewHistogram();
        var tracker = new BroadcastTracker(live, Window, histogram, measureFrom, measureUntil);
        using var loop = new EventLoop();
        var subscriberConnections = new List<SubscriberConnection>();
        foreach (var socket in batch.Sockets)
        {
            if (socket is not null)
            {
                var c = new SubscriberConnection(socket, tracker);
                loop.Add(c, ticks: false);
                subscriberConnections.Add(c);
            }
        }
        PublisherConnection? publisher = null;
        if (publisherSocket is not null)
        {
            publisher = new PublisherConnection(publisherSocket, tracker);
            loop.Add(publisher, ticks: true);
        }
        var thread = new Thread(() =>
        {
            Timing.SleepUntil(start);
            loop.Run(measureUntil + freq / 2);
        }) { IsBackground = true, Name = "broadcast-loop" };
        thread.Start();

        Timing.SleepUntil(measureFrom);
        var cpu0 = server.CpuSeconds();
        var client0 = ProcStat.CpuSeconds(Environment.ProcessId);
        var delivered0 = tracker.Deliveries;
        var t0 = Stopwatch.GetTimestamp();
        var stats0 = server.Stats();
        Timing.SleepUntil(measureUntil);
        var cpu1 = server.CpuSeconds();
        var client1 = ProcStat.CpuSeconds(Environment.ProcessId);
        var delivered1 = tracker.Deliveries;
        var t1 = Stopwatch.GetTimestamp();
        var stats1 = server.Stats();
        thread.Join();

        result.Seconds = (double)(t1 - t0) / freq;
        result.Messages = delivered1 - delivered0;
        result.PayloadBytes = result.Messages * 32;
        result.ServerCpuSeconds = cpu1 - cpu0;
        result.ClientCpuSeconds = client1 - client0;
        result.Latency = histogram;
        result.Unanswered = tracker.Missed;
        if (stats0 is { } s0 && stats1 is { } s1 && s0.AllocatedBytes >= 0)
        {
            result.AllocatedBytes = s1.AllocatedBytes - s0.AllocatedBytes;
        }
        if (publisher?.Error is { } pe)
        {
            result.Error ??= "publisher: " + pe;
        }
        foreach (var c in subscriberConnections)
        {
            if (c.Error is not null)
            {
                result.Failed++;
                result.Error ??= c.Error;
            }
            Connector.CloseQuickly(c.Socket, true);
        }
        if (publisher is not null)
        {
            Connector.CloseQuickly(publisher.Socket, true);
        }
        return result;
    }

    /// <summary>Waits (at most 10 s) until the server's /stats counts every subscriber, so none misses the first messages.</summary>
    internal static void WaitForServerToCount(ServerProcess server, int expected)
    {
        if (!server.Kind.HasStats)
        {
            Thread.Sleep(500);
            return;
        }
        var deadline = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (server.Stats() is { } s && s.Connections >= expected)
            {
                return;
            }
            Thread.Sleep(100);
        }
    }
}
