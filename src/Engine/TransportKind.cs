namespace Engine;

/// <summary>Which byte mover the server runs on.</summary>
public enum TransportKind : byte
{
    /// <summary><see cref="IoUring"/> where the kernel allows it, else <see cref="Epoll"/> on Linux x86-64, otherwise <see cref="Sockets"/>.</summary>
    Auto,
    /// <summary>.NET's async socket operations (portable: epoll on Linux, IOCP on Windows, kqueue on macOS).</summary>
    Sockets,
    /// <summary>Our own epoll loop per core (Linux x86-64): non-blocking syscalls, writes batched per loop iteration.</summary>
    Epoll,
    /// <summary>
    /// Our own io_uring loop per core (Linux x86-64, kernel 6.1+): one system call per loop iteration submits every
    /// send and receive and collects what completed; receives use kernel-picked shared buffers.
    /// </summary>
    IoUring,
}
