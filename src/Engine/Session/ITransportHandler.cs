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

    /// <summary>The connection is gone; called once, after all I/O has stopped.</summary>
    void OnTransportClosed(Exception? error);
}
