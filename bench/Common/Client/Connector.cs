using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Bench.Codec;
using Engine.Tests.Support;

namespace Bench.Client;

/// <summary>
/// Opens connections with blocking calls on a few threads. Blocking calls keep the sockets out of .NET's own epoll
/// engine, so the event loop's epoll is the only one watching them once they turn non-blocking.
/// </summary>
internal static class Connector
{
    /// <summary>
    /// Source address for connection number <paramref name="index"/>: spread over 127.x.y.z so that 15,000 connections,
    /// repeated, never run one source address out of ephemeral ports (28,232 of them by default) or TIME_WAIT slots.
    /// </summary>
    public static IPAddress SourceFor(long index)
    {
        var b = 1 + (int)(index / 62_500 % 200);
        var c = 1 + (int)(index / 250 % 250);
        var d = 1 + (int)(index % 250);
        return new IPAddress([127, (byte)b, (byte)c, (byte)d]);
    }

    private static long nextIndex;

    /// <summary>Reserves <paramref name="count"/> fresh connection numbers, so no run reuses another's source address.</summary>
    public static long NextIndices(int count) => Interlocked.Add(ref nextIndex, count) - count;

    /// <summary>Starts this process's numbering at <paramref name="first"/>; connect workers get disjoint ranges.</summary>
    public static void StartIndicesAt(long first) => Interlocked.Exchange(ref nextIndex, first);

    /// <summary>Connects and, for a WebSocket target, completes the opening handshake. Any bytes after the 101 head are returned in <paramref name="leftover"/>.</summary>
    public static Socket Connect(Target target, long index, out byte[] leftover) => Connect(target, index, out leftover, out _);

    /// <summary>As <see cref="Connect(Target, long, out byte[])"/>, also telling when TCP connect returned (a Stopwatch timestamp).</summary>
    public static Socket Connect(Target target, long index, out byte[] leftover, out long connectedAt)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            socket.Bind(new IPEndPoint(SourceFor(index), 0));
            socket.Connect(target.Address, target.Port);
            connectedAt = Stopwatch.GetTimestamp();
            leftover = [];
            if (target.WebSocket)
            {
                leftover = Upgrade(socket, target);
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static byte[] Upgrade(Socket socket, Target target)
    {
        var request = Handshake.BuildRequest(target.Address.ToString(), target.Port, target.Path, out var accept);
        socket.Send(request);
        socket.ReceiveTimeout = 15_000;
        var buffer = new byte[4096];
        var filled = 0;
        while (true)
        {
            var n = socket.Receive(buffer, filled, buffer.Length - filled, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("server closed during handshake");
            }
            filled += n;
            var end = Handshake.FindHeadEnd(buffer.AsSpan(0, filled));
            if (end >= 0)
            {
                if (!Handshake.IsAccepted(buffer.AsSpan(0, end), accept, out var error))
                {
                    throw new IOException(error);
                }
                socket.ReceiveTimeout = 0;
                return buffer.AsSpan(end, filled - end).ToArray();
            }
            if (filled == buffer.Length)
            {
                throw new IOException("handshake response head over 4 KiB");
            }
        }
    }

    /// <summary>Result of <see cref="ConnectMany"/>: the open sockets (null where a connect failed) and what went wrong.</summary>
    public sealed record Batch(Socket?[] Sockets, byte[][] Leftovers, int Failed, string? FirstError, TimeSpan Elapsed);

    /// <summary>Opens <paramref name="count"/> connections numbered from <paramref name="firstIndex"/> on <paramref name="threads"/> threads.</summary>
    public static Batch ConnectMany(Target target, int count, long firstIndex, int threads)
    {
        var sockets = new Socket?[count];
        var leftovers = new byte[count][];
        var next = -1;
        var failed = 0;
        string? firstError = null;
        var watch = Stopwatch.StartNew();
        var workers = new Thread[Math.Max(1, Math.Min(threads, count))];
        for (var t = 0; t < workers.Length; t++)
        {
            workers[t] = new Thread(() =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    try
                    {
                        sockets[i] = Connect(target, firstIndex + i, out leftovers[i]);
                    }
                    catch (Exception e) when (e is SocketException or IOException)
                    {
                        leftovers[i] = [];
                        Interlocked.Increment(ref failed);
                        Interlocked.CompareExchange(ref firstError, e.Message, null);
                    }
                }
            }, 256 * 1024) { IsBackground = true, Name = "connect" };
            workers[t].Start();
        }
        foreach (var w in workers)
        {
            w.Join();
        }
        return new Batch(sockets, leftovers, failed, firstError, watch.Elapsed);
    }

    /// <summary>Sends a masked Close (1000) and closes the socket without waiting for the reply; used to tear down idle connections quickly.</summary>
    public static void CloseQuickly(Socket socket, bool webSocket)
    {
        try
        {
            if (webSocket)
            {
                Span<byte> frame = stackalloc byte[8];
                ReadOnlySpan<byte> code = [0x03, 0xE8];
                var n = ClientFrameWriter.Write(frame, ClientFrameWriter.OpClose, code, (uint)Random.Shared.Next());
                socket.Blocking = true;
                socket.Send(frame[..n], SocketFlags.None, out _);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        socket.Dispose();
    }
}
