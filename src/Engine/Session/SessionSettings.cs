namespace Engine.Session;

/// <summary>The per-connection limits, made from the options once per server and shared by its sessions (milliseconds for the clock).</summary>
internal sealed record SessionSettings(
    long MaxMessageSize,
    int MaxRequestHeadSize,
    bool Streamed,
    long HandshakeTimeoutMs,
    long HeartbeatIntervalMs,
    long HeartbeatTimeoutMs,
    long CloseTimeoutMs,
    long IdleTimeoutMs,
    long MaxBufferedBytes,
    SlowConsumerPolicy SlowConsumerPolicy,
    int MaxFragmentsPerMessage = int.MaxValue)
{
    public static SessionSettings From(WebSocketServerOptions options) => new(
        options.MaxMessageSize,
        options.MaxRequestHeadSize,
        options.MessageDelivery == MessageDelivery.Streamed,
        (long)options.HandshakeTimeout.TotalMilliseconds,
        (long)options.HeartbeatInterval.TotalMilliseconds,
        (long)options.HeartbeatTimeout.TotalMilliseconds,
        (long)options.CloseTimeout.TotalMilliseconds,
        (long)options.IdleTimeout.TotalMilliseconds,
        options.MaxBufferedBytes,
        options.SlowConsumerPolicy,
        options.MaxFragmentsPerMessage);
}
