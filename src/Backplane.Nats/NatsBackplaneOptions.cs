namespace Engine.Backplane;

/// <summary>Settings of a <see cref="NatsBackplane"/>.</summary>
public sealed record NatsBackplaneOptions
{
    /// <summary>The NATS server, for example <c>nats://127.0.0.1:4222</c> (several may be given, comma-separated).</summary>
    public required string Url { get; init; }

    /// <summary>
    /// Prefix of the NATS subjects, so several applications can share one NATS server. Default <c>ws.</c>: channel
    /// <c>room</c> travels on subject <c>ws.room</c>. Must be a valid subject start (no spaces, no wildcards).
    /// </summary>
    public string Prefix { get; init; } = "ws.";

    /// <summary>Least wait between reconnect attempts; it doubles on every failure up to <see cref="ReconnectWaitMax"/>.</summary>
    public TimeSpan ReconnectWaitMin { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Most wait between reconnect attempts.</summary>
    public TimeSpan ReconnectWaitMax { get; init; } = TimeSpan.FromSeconds(10);
}
