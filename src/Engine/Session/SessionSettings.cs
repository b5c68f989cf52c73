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
    int MaxFragmentsPerMessage = int.MaxValue,
    SessionCompression? Compression = null)
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
