namespace Engine.Runtime;

/// <summary>
/// What <see cref="ServerMetrics"/> reads from its server when a listener collects: the server implements it, so the
/// metrics (Runtime) do not depend on the API layer above them.
/// </summary>
internal interface IServerGauges
{
    /// <summary>Upgraded WebSocket connections open now.</summary>
    int OpenWebSocketCount { get; }

    /// <summary>Pub/sub channels with at least one subscriber.</summary>
    int ChannelCount { get; }

    /// <summary>Messages queued to subscribers by pub/sub since the server started.</summary>
    long Deliveries { get; }

    /// <summary>Timer-wheel entries waiting to fire (one per live connection, plus the server's own).</summary>
    int ScheduledTimers { get; }

    /// <summary>Bytes queued for sending over all connections, and the largest single queue.</summary>
    (long Total, long Max) SendQueueBytes();
}
