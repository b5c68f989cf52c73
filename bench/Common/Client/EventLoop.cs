using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Transports.IoUring;

namespace Bench.Client;

/// <summary>
/// One thread driving many sockets. On io_uring (where the kernel allows it; BENCH_CLIENT_IO=epoll forces epoll) one
/// system call per turn submits every send and receive and collects what completed, as the engine's loop does: on
/// these VMs a system call costs about a microsecond, and with a read and a send per message on epoll the generator,
/// not the server, set the pace of the ping-pong cases. On epoll: one epoll set, non-blocking sockets
/// (edge-triggered), one shared receive buffer. Connections that send on a schedule get a turn through
/// <see cref="LoopConnection.OnTick"/>; the loop waits at most until the earliest wants one.
/// </summary>
internal sealed unsafe class EventLoop : IDisposable
{
    private const int MaxEvents = 512;
    private const ulong Recv = 1;
    private const ulong Send = 2;
    private readonly int epfd = -1;
    private readonly Ring? ring;
    private readonly List<LoopConnection> connections = [];
    private readonly List<LoopConnection> tickers = [];
    private readonly List<int> starved = [];
    private readonly byte[] receiveBuffer = new byte[256 * 1024];
    private readonly byte* events;

    /// <summary>What the generators use: "io_uring" or "epoll".</summary>
    public static string Io { get; } = Environment.GetEnvironmentVariable("BENCH_CLIENT_IO") != "epoll" && UringLoop.IsSupported ? "io_uring" : "epoll";

    public EventLoop()
    {
        if (Io == "io_uring")
        {
            // 1,024 shared receive buffers of 16 KiB: enough that 10,000 subscribers seldom find them all taken.
            ring = new Ring(4096, 1024, 16 * 1024, singleIssuer: false);
            return;
        }
        epfd = Epoll.Create(0);
        if (epfd < 0)
        {
            throw new InvalidOperationException("epoll_create1 failed: " + Marshal.GetLastPInvokeError());
        }
        events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Epoll.EventSize));
    }

    public IReadOnlyList<LoopConnection> Connections => connections;

    /// <summary>Takes ownership of the connection's socket; call on the thread that will <see cref="Run"/> the loop.</summary>
    public void Add(LoopConnection connection, bool ticks)
    {
        if (ring is not null)
        {
            // Blocking socket: io_uring never blocks on it, and waits for data instead of handing EAGAIN back.
            connection.AttachUring(this, connections.Count);
            ArmReceive(connections.Count, connection);
            connections.Add(connection);
            if (ticks)
            {
                tickers.Add(connection);
            }
            return;
        }
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
            if (ring is not null)
            {
                Turn(timeout);
                continue;
            }
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

    /// <summary>io_uring: queues a send of <paramref name="count"/> bytes of the pinned <paramref name="array"/>; its completion goes to <see cref="LoopConnection.OnSendCompleted"/>.</summary>
    public void SubmitSend(int slot, byte[] array, int offset, int count) =>
        ring!.PrepareSend(Fd(connections[slot]), (byte*)Unsafe.AsPointer(ref array[offset]), count, ((ulong)slot << 8) | Send);

    private void ArmReceive(int slot, LoopConnection connection) => ring!.PrepareReceive(Fd(connection), ((ulong)slot << 8) | Recv);

    private static int Fd(LoopConnection connection) => (int)connection.Socket.SafeHandle.DangerousGetHandle();

    /// <summary>One io_uring turn: submit, wait up to <paramref name="timeoutMs"/> for a completion, handle them all.</summary>
    private void Turn(int timeoutMs)
    {
        Ring r = ring!;
        r.PublishBuffers();
        if (timeoutMs == 0)
        {
            r.SubmitAndWait(0);
        }
        else
        {
            r.SubmitAndWait(1, timeoutMs * 1_000_000L);
        }
        var now = Stopwatch.GetTimestamp();
        while (r.TryTake(out ulong token, out int result, out uint flags))
        {
            int slot = (int)(token >> 8);
            LoopConnection c = connections[slot];
            if ((token & 0xFF) == Send)
            {
                if (!c.Closed)
                {
                    c.OnSendCompleted(result);
                }
                continue;
            }
            if ((flags & UringNative.CqeFBuffer) != 0)
            {
                ushort id = (ushort)(flags >> UringNative.CqeBufferShift);
                if (result > 0 && !c.Closed)
                {
                    c.OnReceived(new ReadOnlySpan<byte>(r.Buffer(id), result), now);
                }
                r.AddBuffer(id);
            }
            if (result == -UringNative.ENOBUFS)
            {
                starved.Add(slot);
            }
            else if (result <= 0)
            {
                c.OnReceiveFailed(result);
            }
            else if (!c.Closed)
            {
                ArmReceive(slot, c);
            }
        }
        if (starved.Count > 0)
        {
            r.PublishBuffers();
            foreach (int slot in starved)
            {
                ArmReceive(slot, connections[slot]);
            }
            starved.Clear();
        }
    }

    public void Dispose()
    {
        if (ring is not null)
        {
            ring.Dispose();
            return;
        }
        Epoll.Close(epfd);
        NativeMemory.Free(events);
    }
}
