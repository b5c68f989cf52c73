using System.Diagnostics;
using HdrHistogram;
using Load.Client;
using Load.Servers;

namespace Load.Scenarios;

/// <summary>One echo cell: connections × payload × window, closed loop, or open loop at a fixed total rate.</summary>
internal sealed record EchoSpec(int Connections, int Payload, int Window, double Rate, TimeSpan Warmup, TimeSpan Measure)
{
    public string Cell => Rate > 0
        ? $"{Connections} conns, {Payload} B, {Rate:N0} msg/s offered"
        : $"{Connections} conns, {Format.Bytes(Payload)}, window {Window}";
}

/// <summary>Runs echo cells: connect, warm up, measure a window, tear down.</summary>
internal static class EchoScenario
{
    public static Measurement Run(ServerProcess server, Target target, EchoSpec spec, int loops)
    {
        var batch = Connector.ConnectMany(target, spec.Connections, Connector.NextIndices(spec.Connections), 16);
        var result = new Measurement { Failed = batch.Failed, Error = batch.FirstError };
        var payload = new byte[spec.Payload];
        Random.Shared.NextBytes(payload);
        var freq = Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp() + freq / 20;
        var measureFrom = start + (long)(spec.Warmup.TotalSeconds * freq);
        var measureUntil = measureFrom + (long)(spec.Measure.TotalSeconds * freq);
        var openLoop = spec.Rate > 0;
        var interval = openLoop ? (long)(freq * spec.Connections / spec.Rate) : 0;
        // Open loop: keep reading for a second after the window so late replies to in-window sends are still measured.
        var runUntil = openLoop ? measureUntil + freq : measureUntil;

        var eventLoops = new EventLoop[Math.Max(1, loops)];
        var histograms = new LongHistogram[eventLoops.Length];
        var connections = new List<EchoConnection>();
        for (var l = 0; l < eventLoops.Length; l++)
        {
            eventLoops[l] = new EventLoop();
            histograms[l] = Measurement.NewHistogram();
        }
        var open = 0;
        for (var i = 0; i < batch.Sockets.Length; i++)
        {
            var socket = batch.Sockets[i];
            if (socket is null)
            {
                continue;
            }
            var l = open % eventLoops.Length;
            var firstDue = start + (openLoop ? interval * i / spec.Connections : 0);
            var c = new EchoConnection(socket, payload, spec.Window, interval, firstDue, openLoop ? histograms[l] : null, measureFrom, measureUntil, i + 1);
            eventLoops[l].Add(c, ticks: openLoop);
            connections.Add(c);
            open++;
        }

        var threads = new Thread[eventLoops.Length];
        for (var l = 0; l < eventLoops.Length; l++)
        {
            var loop = eventLoops[l];
            threads[l] = new Thread(() =>
            {
                Timing.SleepUntil(start);
                var now = Stopwatch.GetTimestamp();
                foreach (var c in loop.Connections)
                {
                    ((EchoConnection)c).Start(now);
                }
                loop.Run(runUntil);
            }) { IsBackground = true, Name = "loop" };
            threads[l].Start();
        }

        Timing.SleepUntil(measureFrom);
        var cpu0 = server.CpuSeconds();
        var client0 = ProcStat.CpuSeconds(Environment.ProcessId);
        var received0 = Sum(connections);
        var t0 = Stopwatch.GetTimestamp();
        var stats0 = server.Stats();
        Timing.SleepUntil(measureUntil);
        var cpu1 = server.CpuSeconds();
        var client1 = ProcStat.CpuSeconds(Environment.ProcessId);
        var received1 = Sum(connections);
        var t1 = Stopwatch.GetTimestamp();
        var stats1 = server.Stats();
        foreach (var t in threads)
        {
            t.Join();
        }

        result.Seconds = (double)(t1 - t0) / freq;
        result.Messages = received1 - received0;
        result.PayloadBytes = result.Messages * spec.Payload;
        result.ServerCpuSeconds = cpu1 - cpu0;
        result.ClientCpuSeconds = client1 - client0;
        if (stats0 is { } s0 && stats1 is { } s1 && s0.AllocatedBytes >= 0)
        {
            result.AllocatedBytes = s1.AllocatedBytes - s0.AllocatedBytes;
        }
        if (openLoop)
        {
            var merged = Measurement.NewHistogram();
            foreach (var h in histograms)
            {
                merged.Add(h);
            }
            result.Latency = merged;
            var expected = (long)(spec.Measure.TotalSeconds * spec.Rate);
            result.Unanswered = Math.Max(0, expected - merged.TotalCount);
        }
        foreach (var c in connections)
        {
            if (c.Error is not null)
            {
                result.Failed++;
                result.Error ??= c.Error;
            }
            Connector.CloseQuickly(c.Socket, target.WebSocket);
        }
        foreach (var loop in eventLoops)
        {
            loop.Dispose();
        }
        return result;
    }

    private static long Sum(List<EchoConnection> connections)
    {
        long sum = 0;
        foreach (var c in connections)
        {
            sum += c.Received;
        }
        return sum;
    }
}
