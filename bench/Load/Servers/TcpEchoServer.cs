using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Load.Client;

namespace Load.Servers;

/// <summary>
/// The ceiling check: echoes bytes back with no WebSocket work at all, started, pinned and measured like the peers
/// (a process of its own on CPU 0). It is one thread over raw file descriptors, the cheapest echo this box can run,
/// so what the generator reaches against it is the generator's own limit. It uses what the generator uses
/// (<see cref="EventLoop.Io"/>): io_uring, one system call per turn, or one epoll set with a read and a write per chunk.
/// </summary>
internal static unsafe partial class TcpEchoServer
{
    private const int SockNonBlock = 0x800;
    private const int Eagain = 11;
    private const ulong ListenerTag = ulong.MaxValue;

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4(int fd, nint address, nint addressLength, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, int* value, int length);

    /// <summary>Bytes a connection could not write yet; while any wait, it reads nothing more (backpressure).</summary>
    private sealed class Pending
    {
        public byte[] Data = new byte[64 * 1024];
        public int Start;
        public int End;
    }

    public static void Run(int port)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(4096);
        listener.Blocking = false;
        var listenFd = (int)listener.SafeHandle.DangerousGetHandle();
        if (EventLoop.Io == "io_uring")
        {
            Console.WriteLine($"tcp echo (io_uring) listening on {IPAddress.Loopback}:{port}");
            UringEcho.Run(listenFd);
            return;
        }
        var epfd = Epoll.Create(0);
        Epoll.Add(epfd, listenFd, Epoll.In, ListenerTag);
        var pending = new Pending?[1 << 16];
        var buffer = new byte[256 * 1024];
        var events = stackalloc byte[512 * Epoll.EventSize];
        Console.WriteLine($"tcp echo listening on {IPAddress.Loopback}:{port}");
        while (true)
        {
            var n = Epoll.Wait(epfd, events, 512, 1000);
            for (var i = 0; i < n; i++)
            {
                var ev = events + i * Epoll.EventSize;
                var flags = *(uint*)ev;
                var tag = *(ulong*)(ev + Epoll.DataOffset);
                if (tag == ListenerTag)
                {
                    AcceptAll(epfd, listenFd);
                    continue;
                }
                var fd = (int)tag;
                if (pending[fd] is { } p)
                {
                    if ((flags & Epoll.Out) != 0 && !FlushPending(fd, p))
                    {
                        pending[fd] = null;
                        continue;
                    }
                    if (p.End > p.Start)
                    {
                        continue;
                    }
                    // Drained: read what arrived while this connection was held back.
                    pending[fd] = null;
                }
                Echo(fd, buffer, pending);
            }
        }
    }

    private static void AcceptAll(int epfd, int listenFd)
    {
        while (true)
        {
            var fd = Accept4(listenFd, 0, 0, SockNonBlock);
            if (fd < 0)
            {
                return;
            }
            var one = 1;
            SetSockOpt(fd, 6 /* IPPROTO_TCP */, 1 /* TCP_NODELAY */, &one, sizeof(int));
            Epoll.Add(epfd, fd, Epoll.In | Epoll.Out | Epoll.RdHup | Epoll.EdgeTriggered, (ulong)fd);
        }
    }

    /// <summary>Reads until drained and writes each chunk straight back; a chunk the kernel will not take yet waits in <paramref name="pending"/>.</summary>
    private static void Echo(int fd, byte[] buffer, Pending?[] pending)
    {
        fixed (byte* b = buffer)
        {
            while (true)
            {
                var read = (int)Read(fd, b, buffer.Length);
                if (read < 0)
                {
                    if (Marshal.GetLastPInvokeError() != Eagain)
                    {
                        Epoll.Close(fd);
                    }
                    return;
                }
                if (read == 0)
                {
                    Epoll.Close(fd);
                    return;
                }
                var written = 0;
                while (written < read)
                {
                    var w = (int)Write(fd, b + written, read - written);
                    if (w < 0)
                    {
                        if (Marshal.GetLastPInvokeError() != Eagain)
                        {
                            Epoll.Close(fd);
                            return;
                        }
                        var p = new Pending();
                        if (p.Data.Length < read - written)
                        {
                            p.Data = new byte[read - written];
                        }
                        buffer.AsSpan(written, read - written).CopyTo(p.Data);
                        p.End = read - written;
                        pending[fd] = p;
                        return;
                    }
                    written += w;
                }
                if (read < buffer.Length)
                {
                    return;
                }
            }
        }
    }

    private static bool FlushPending(int fd, Pending p)
    {
        fixed (byte* b = p.Data)
        {
            while (p.Start < p.End)
            {
                var w = (int)Write(fd, b + p.Start, p.End - p.Start);
                if (w < 0)
                {
                    if (Marshal.GetLastPInvokeError() != Eagain)
                    {
                        Epoll.Close(fd);
                        return false;
                    }
                    return true;
                }
                p.Start += w;
            }
        }
        return true;
    }
}
