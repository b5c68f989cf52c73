using NATS.Client.Core;

namespace Engine.Backplane;

/// <summary>The NATS client settings both NATS backplanes connect with.</summary>
internal static class NatsConnectionOptions
{
    public static NatsOpts Create(NatsBackplaneOptions options, Guid nodeId, bool echo) => NatsOpts.Default with
    {
        Url = options.Url,
        Name = "engine-" + nodeId.ToString("N")[..8],
        // Off for plain pub/sub: NATS then never sends a node its own publishes (delivered locally already).
        Echo = echo,
        // Start with NATS down, and come back when it does: reconnects forever with exponential backoff.
        RetryOnInitialConnect = true,
        MaxReconnectRetry = -1,
        ReconnectWaitMin = options.ReconnectWaitMin,
        ReconnectWaitMax = options.ReconnectWaitMax,
        // A publish that races a disconnect fails after CommandTimeout (and is counted) rather than waiting for the
        // reconnect and arriving late.
        PublishTimeoutOnDisconnected = true,
    };
}
