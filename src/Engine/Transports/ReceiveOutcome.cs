namespace Engine.Transports;

/// <summary>What a transport does after handing a read to the session (<see cref="TransportConnection.Deliver"/>).</summary>
[Flags]
internal enum ReceiveOutcome : byte
{
    /// <summary>Keep what was not consumed and read on.</summary>
    None = 0,
    /// <summary>Replies were queued during the batch: flush them.</summary>
    FlushNeeded = 1,
    /// <summary>The protocol is over: flush (which half-closes once drained) and discard reads until the peer closes.</summary>
    Finished = 2,
    /// <summary>Replies are over the send limit: read nothing more until the queue drains (TCP slows the peer).</summary>
    OverLimit = 4,
}
