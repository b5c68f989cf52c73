namespace Engine.Session;

/// <summary>
/// What a transport drives: the connection's session. Called on the transport's receive thread, one call at a time;
/// the session answers through the transport's <see cref="IFrameOutput"/>.
/// </summary>
internal interface ITransportHandler
{
    /// <summary>Processes received bytes (they may be modified in place) and returns how many were consumed; the transport keeps the rest.</summary>
    int OnReceived(Span<byte> data);

    /// <summary>Whether the protocol is finished: once the output drains, the transport half-closes and waits for the peer to close.</summary>
    bool IsFinished { get; }

    /// <summary>
    /// Whether the peer's close frame has arrived. It sends nothing after it (§5.5.1), so once our reply is out and the
    /// FIN sent, the transport may close without waiting for the peer's FIN: the descriptor comes back a round trip
    /// sooner (in a reconnect storm that is the difference between accepting and waiting), and nothing can follow that
    /// would make the kernel answer with a reset.
    /// </summary>
    bool PeerClosed { get; }

    /// <summary>The connection is gone; called once, after all I/O has stopped.</summary>
    void OnTransportClosed(Exception? error);
}
