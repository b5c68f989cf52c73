namespace Engine.Fuzz;

/// <summary>
/// What one script byte of the transport target does (its high bits; the low bits are its argument). Nothing turns the
/// loop unless the script says so: writes between two turns arrive in one read.
/// </summary>
internal enum TransportOp : byte
{
    /// <summary>0x00-0x3F: the peer writes the next 1-64 stream bytes (what its socket takes; the rest waits for the next write).</summary>
    WriteSmall = 0x00,
    /// <summary>0x40-0x5F: the peer writes the next 512-16384 stream bytes.</summary>
    WriteLarge = 0x40,
    /// <summary>0x60-0x6F: 1-16 loop iterations.</summary>
    Turn = 0x60,
    /// <summary>0x70-0x7F: the peer reads up to 256-3840 bytes of the server's output (0x7F: all there is).</summary>
    Read = 0x70,
    /// <summary>
    /// 0x80-0x9F: an event the loop did not see from the kernel: a posted flush (another thread asked for one that the loop
    /// already did), or for epoll readiness that is not there (EPOLLIN with nothing to read: EAGAIN; EPOLLOUT; EPOLLHUP).
    /// </summary>
    Spurious = 0x80,
    /// <summary>0xA0-0xBF: the application, on another thread: a 0-700 byte message, a close (1001), an abort, or a flush request.</summary>
    Application = 0xA0,
    /// <summary>0xC0-0xDF: the peer half-closes (FIN): the server reads 0 bytes.</summary>
    PeerShutdown = 0xC0,
    /// <summary>0xE0-0xFF: the peer closes its socket: a reset (ECONNRESET) when server bytes are still unread, else an end of stream.</summary>
    PeerClose = 0xE0,
}
