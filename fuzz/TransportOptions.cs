namespace Engine.Fuzz;

/// <summary>How one run of the transport target is set up (byte 0 of a fuzz input).</summary>
[Flags]
internal enum TransportOptions : byte
{
    None = 0,
    /// <summary>The io_uring loop (otherwise epoll); on a machine without io_uring the run uses epoll.</summary>
    Uring = 1,
    /// <summary>Small message size and fragment limits (<see cref="SessionOptions.SmallLimits"/>).</summary>
    SmallLimits = 2,
    /// <summary>The stream includes the handshake (otherwise a valid upgrade request is put in front).</summary>
    Raw = 4,
    /// <summary>The server's socket gets the smallest send buffer, so its writes come up short and it waits for the peer to read.</summary>
    SmallSocketBuffer = 8,
    /// <summary>The loop with a 1 KiB send limit: the connection stops reading while its replies wait (read-side backpressure).</summary>
    SmallSendLimit = 16,
    /// <summary>The application does not echo messages.</summary>
    NoEcho = 32,
    /// <summary>Streamed delivery (<see cref="SessionOptions.Streamed"/>; nothing is echoed).</summary>
    Streamed = 64,
}
