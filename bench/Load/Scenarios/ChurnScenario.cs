using System.Diagnostics;
using System.Net.Sockets;
using HdrHistogram;
using Load.Client;
using Load.Servers;

namespace Load.Scenarios;

/// <summary>
/// Connection churn: each of a few threads loops connect → handshake → Close → wait for the server's Close → wait for
/// the server to end TCP (RFC 6455 §7.1.1: the server closes the TCP connection first) → next. Cycles per second are counted.
/// Blocking calls on threads are fine here: the kernel's connect and accept work dwarfs a thread switch.
/// </summary>
internal static class ChurnScenario
{
    public static Measurement Run(ServerProcess server, Target target, int threads, TimeSpan warmup, TimeSpan measure)
    {
        var freq = Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup.TotalSeconds * freq);
        var measureUntil = measureFrom + (long)(measure.TotalSeconds * freq);
        long cycles = 0;
        var failed = 0;
        var lingering = 0;
        string? firstError = null;
        // Where a cycle's time goes: TCP connect, the upgrade round trip, Close → server's Close, server's Close → its FIN.
        var phases = new LongHistogram[4];
        for (var i = 0; i < phases.Length; i++)
        {
            phases[i] = Measurement.NewHistogram();
        }
        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                var mine = new LongHistogram[4];
                for (var i = 0; i < mine.Length; i++)
                {
                    mine[i] = Measurement.NewHistogram();
                }
                while (Stopwatch.GetTimestamp() < measureUntil)
                {
                    try
                    {
                        var begin = Stopwatch.GetTimestamp();
                        using var socket = Connector.Connect(target, Connector.NextIndices(1), out _, out var connected);
                        var upgraded = Stopwatch.GetTimestamp();
                        if (!CloseHandshake(socket, target.WebSocket, out var closeReplied))
                        {
                            Interlocked.Increment(ref lingering);
                        }
                        var ended = Stopwatch.GetTimestamp();
                        if (begin >= measureFrom)
                        {
                            mine[0].RecordValue(connected - begin);
                            mine[1].RecordValue(upgraded - connected);
                            mine[2].RecordValue(closeReplied - upgraded);
                            mine[3].RecordValue(ended - closeReplied);
                        }
                        Interlocked.Increment(ref cycles);
                    }
                    catch (Exception e) when (e is SocketException or IOException)
                    {
                        Interlocked.Increment(ref failed);
                        Interlocked.CompareExchange(ref firstError, e.Message, null);
                        Thread.Sleep(10);
                    }
                }
                lock (phases)
                {
                    for (var i = 0; i < phases.Length; i++)
                    {
                        phases[i].Add(mine[i]);
                    }
                }
            }, 256 * 1024) { IsBackground = true, Name = "churn" };
            workers[t].Start();
        }
        Timing.SleepUntil(measureFrom);
        var cpu0 = server.CpuSeconds();
        var client0 = ProcStat.CpuSeconds(Environment.ProcessId);
        var c0 = Interlocked.Read(ref cycles);
        var t0 = Stopwatch.GetTimestamp();
        var stats0 = server.Stats();
        Timing.SleepUntil(measureUntil);
        var cpu1 = server.CpuSeconds();
        var client1 = ProcStat.CpuSeconds(Environment.ProcessId);
        var c1 = Interlocked.Read(ref cycles);
        var t1 = Stopwatch.GetTimestamp();
        var stats1 = server.Stats();
        foreach (var w in workers)
        {
            w.Join();
        }
        var result = new Measurement
        {
            Phases = phases,
            Seconds = (double)(t1 - t0) / freq,
            Messages = c1 - c0,
            ServerCpuSeconds = cpu1 - cpu0,
            ClientCpuSeconds = client1 - client0,
            Failed = failed,
            Error = firstError ?? (lingering > 0 ? $"{lingering} connections: server did not close TCP within 1 s after the close handshake" : null),
        };
        if (stats0 is { } s0 && stats1 is { } s1 && s0.AllocatedBytes >= 0)
        {
            result.AllocatedBytes = s1.AllocatedBytes - s0.AllocatedBytes;
        }
        return result;
    }

    /// <summary>Sends Close(1000), reads until the server's Close and then until the server ends TCP; false if it did not within 1 s.</summary>
    private static bool CloseHandshake(Socket socket, bool webSocket, out long closeReplied)
    {
        closeReplied = 0;
        Span<byte> frame = stackalloc byte[8];
        ReadOnlySpan<byte> code = [0x03, 0xE8];
        var n = ClientFrameWriter.Write(frame, ClientFrameWriter.OpClose, code, (uint)Random.Shared.Next());
        socket.Send(frame[..n]);
        socket.ReceiveTimeout = 1000;
        var sink = new CloseSink();
        var parser = new FrameParser();
        Span<byte> buffer = stackalloc byte[512];
        while (!sink.Closed)
        {
            var read = socket.Receive(buffer);
            if (read == 0)
            {
                throw new IOException("server ended TCP before its Close frame");
            }
            parser.Consume(buffer[..read], sink);
        }
        closeReplied = Stopwatch.GetTimestamp();
        if (!webSocket)
        {
            // The raw TCP echo just returned our own Close; it never ends TCP by itself.
            return true;
        }
        try
        {
            while (socket.Receive(buffer) > 0)
            {
            }
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            return false;
        }
    }

    private sealed class CloseSink : IFrameSink
    {
        public bool Closed { get; private set; }

        public void OnMessage(ReadOnlySpan<byte> head, long payloadLength)
        {
        }

        public void OnClose() => Closed = true;
    }
}
