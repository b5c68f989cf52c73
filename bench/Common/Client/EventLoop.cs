using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Bench.Client;

/// <summary>
/// One thread, one epoll set, many non-blocking sockets (edge-triggered), one shared receive buffer. Connections that
/// send on a schedule get a turn through <see cref="LoopConnection.OnTick"/>; the loop waits at most until the earliest wants one.
/// </summary>
internal sealed unsafe class EventLoop : IDisposable
{
    private const int MaxEvents = 512;
    private readonly int epfd;
    private readonly List<LoopConnection> connections = [];
    private readonly List<LoopConnection> tickers = [];
    private readonly byte[] receiveBuffer = new byte[256 * 1024];
    private readonly byte* events;

    public EventLoop()
    {
        epfd = Epoll.Create(0);
        if (epfd < 0)
        {
            throw new InvalidOperationException("epoll_create1 failed: " + Marshal.GetLastPInvokeError());
        }
        events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Epoll.EventSize));
    }

    public IReadOnlyList<LoopConnection> Connections => connections;

    /// <summary>Takes ownership of the connection's socket; call before <see cref="Run"/>.</summary>
    public void Add(LoopConnection connection, bool ticks)
    {
        connection.Socket.Blocking = false;
        var fd = (int)connection.Socket.SafeHandle.DangerousGetHandle();
        if (Epoll.Add(epfd, fd, Epoll.In | Epoll.Out | Epoll.RdHup | Epoll.EdgeTriggered, (ulong)connections.Count) != 0)
        {
            throw new InvalidOperationException("epoll_ctl failed: " + Marshal.GetLastPInvokeError());
        }
        connections.Add(connection);
        if (ticks)
        {
            tickers.Add(connection);
        }
    }

    /// <summary>Runs until <paramref name="until"/> (a Stopwatch timestamp) or <paramref name="stop"/> returns true.</summary>
    public void Run(long until, Func<bool>? stop = null)
    {
        var msTicks = Stopwatch.Frequency / 1000;
        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= until || (stop?.Invoke() ?? false))
            {
                return;
            }
            var next = until;
            foreach (var c in tickers)
            {
                if (!c.Closed)
                {
                    next = Math.Min(next, c.OnTick(now));
                }
            }
            // Sub-millisecond schedules spin (timeout 0): the generator has a core of its own, the server never sees it.
            var timeout = (int)Math.Clamp((next - now) / msTicks, 0, 50);
            var n = Epoll.Wait(epfd, events, MaxEvents, timeout);
            if (n <= 0)
            {
                continue;
            }
            now = Stopwatch.GetTimestamp();
            for (var i = 0; i < n; i++)
            {
                var ev = events + i * Epoll.EventSize;
                var flags = *(uint*)ev;
                var c = connections[(int)*(ulong*)(ev + Epoll.DataOffset)];
                if (c.Closed)
                {
                    continue;
                }
                if ((flags & Epoll.Out) != 0)
                {
                    c.OnWritable();
                }
                if ((flags & (Epoll.In | Epoll.RdHup | Epoll.Hup | Epoll.Err)) != 0)
                {
                    c.OnReadable(receiveBuffer, now);
                }
            }
        }
    }

    public void Dispose()
    {
        Epoll.Close(epfd);
        NativeMemory.Free(events);
    }
}
