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
    int MaxFragmentsPerMessage = int.MaxValue,
    SessionCompression? Compression = null)
{
    /// <summary>The clock (milliseconds) that reads are stamped with; the server's, so tests can drive it.</summary>
    public Func<long> Clock { get; init; } = static () => Environment.TickCount64;

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
        options.MaxFragmentsPerMessage,
        SessionCompression.From(options.Compression));
}

/// <summary>permessage-deflate as sessions need it: what to agree to, the threshold, and the server's compressor pool.</summary>
internal sealed record SessionCompression(Protocol.DeflateConfig Config, int Threshold, Compression.CompressionPool Pool)
{
    public static SessionCompression? From(CompressionOptions options) => options.Enabled
        ? new SessionCompression(
            new Protocol.DeflateConfig(options.ServerMaxWindowBits, options.ClientMaxWindowBits, options.ServerNoContextTakeover, options.ClientNoContextTakeover),
            options.Threshold,
            new Compression.CompressionPool(options.Level, options.MemoryLevel, options.MaxConcurrentCompressions, maxRetained: options.MaxConcurrentCompressions))
        : null;
}
