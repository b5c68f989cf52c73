namespace Engine.Transports;

/// <summary>The layer above a transport connection: takes received bytes, owns the outgoing queue.</summary>
internal interface ITransportHandler
{
    /// <summary>Outgoing bytes the transport drains.</summary>
    OutboundQueue Output { get; }

    /// <summary>Processes received bytes (they may be modified in place) and returns how many were consumed.</summary>
    int OnReceived(Span<byte> data);

    /// <summary>Whether the protocol is finished: once the queue drains, the transport half-closes and waits for the peer to close.</summary>
    bool IsFinished { get; }

    /// <summary>The connection is gone; called once, after all I/O has stopped.</summary>
    void OnTransportClosed(Exception? error);
}
