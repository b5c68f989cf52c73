namespace Engine;

/// <summary>Which byte mover the server runs on.</summary>
public enum TransportKind : byte
{
    /// <summary>Epoll where supported (Linux x86-64), otherwise <see cref="Sockets"/>.</summary>
    Auto,
    /// <summary>.NET's async socket operations (portable: epoll on Linux, IOCP on Windows, kqueue on macOS).</summary>
    Sockets,
    /// <summary>Our own epoll loop per core (Linux x86-64): non-blocking syscalls, writes batched per loop iteration.</summary>
    Epoll,
}
