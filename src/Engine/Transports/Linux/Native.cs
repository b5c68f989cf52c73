using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Engine.Transports.Linux;

/// <summary>The Linux system calls the epoll and io_uring transports need (libc, source-generated marshalling, AOT-safe).</summary>
internal static unsafe partial class Native
{
    public const int EPOLLIN = 0x001;
    public const int EPOLLOUT = 0x004;
    public const int EPOLLERR = 0x008;
    public const int EPOLLHUP = 0x010;
    public const int EPOLLRDHUP = 0x2000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;
    public const int EAGAIN = 11;
    public const int EINTR = 4;
    public const int SHUT_WR = 1;

    /// <summary>x86-64's <c>struct epoll_event</c> is packed: 12 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint writev(int fd, IoVector* vectors, int count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int accept4(int fd, byte* address, int* addressLength, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, int* value, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, ulong* limit);

    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>The soft RLIMIT_NOFILE (open files) of this process; -1 when it cannot be read.</summary>
    public static long OpenFilesLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }
        const int RlimitNofile = 7;
        ulong* limit = stackalloc ulong[2]; // struct rlimit { rlim_t cur, max }
        return getrlimit(RlimitNofile, limit) == 0 && limit[0] < long.MaxValue ? (long)limit[0] : -1;
    }

    /// <summary>
    /// The exception for a failed socket call's errno. <c>new SocketException(errno)</c> would read the errno as a
    /// <see cref="SocketError"/> (104, ECONNRESET, is no SocketError at all), so the errors a peer causes are mapped, as
    /// .NET's own sockets report them; any other keeps its errno in the message.
    /// </summary>
    public static SocketException ToSocketException(int errno) => errno switch
    {
        104 => new SocketException((int)System.Net.Sockets.SocketError.ConnectionReset),
        32 => new SocketException((int)System.Net.Sockets.SocketError.Shutdown), // EPIPE: written after the peer's reset
        110 => new SocketException((int)System.Net.Sockets.SocketError.TimedOut),
        103 => new SocketException((int)System.Net.Sockets.SocketError.ConnectionAborted),
        111 => new SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused),
        113 => new SocketException((int)System.Net.Sockets.SocketError.HostUnreachable),
        101 => new SocketException((int)System.Net.Sockets.SocketError.NetworkUnreachable),
        _ => new SocketException((int)System.Net.Sockets.SocketError.SocketError, $"socket error (errno {errno})"),
    };

    /// <summary>Descriptors this process has open now (entries of /proc/self/fd); 0 where that cannot be read.</summary>
    public static long OpenDescriptors()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Takes one waiting connection (Nagle off, inherited from the listener: <see cref="ReusePortListeners"/>); -1 when
    /// none is waiting. <paramref name="nonBlocking"/>: for our own read/writev calls (epoll). io_uring gets blocking
    /// sockets: it never blocks on them, while with O_NONBLOCK some kernels hand EAGAIN back instead of waiting for data.
    /// </summary>
    public static int Accept(int listenerFd, bool nonBlocking, out PeerAddress peer)
    {
        byte* address = stackalloc byte[128];
        int length = 128;
        int fd = accept4(listenerFd, address, &length, nonBlocking ? O_NONBLOCK | O_CLOEXEC : O_CLOEXEC);
        if (fd < 0)
        {
            peer = default;
            return -1; // EAGAIN, or a connection reset before we took it; fd exhaustion retries on the next event
        }
        peer = PeerAddress.Parse(new ReadOnlySpan<byte>(address, length));
        return fd;
    }

    /// <summary>Whether this process can use the epoll transport (Linux on x86-64, where the event layout above holds).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;
}
