namespace Engine.Backplane;

/// <summary>Settings of a <see cref="RedisBackplane"/>.</summary>
public sealed record RedisBackplaneOptions
{
    /// <summary>StackExchange.Redis configuration string, for example <c>127.0.0.1:6379</c> (from <c>redis://host:port</c>).</summary>
    public required string Configuration { get; init; }

    /// <summary>Prefix of the Redis keys and channels, so several applications can share one Redis. Default <c>ws:</c>.</summary>
    public string Prefix { get; init; } = "ws:";
}
