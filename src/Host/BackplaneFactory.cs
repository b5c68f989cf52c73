using Engine;
using Engine.Backplane;

namespace Host;

/// <summary>Builds the <see cref="IPubSubBackplane"/> named by <c>WS_BACKPLANE</c>, keeping history when <c>WS_HISTORY_*</c> asks.</summary>
internal static class BackplaneFactory
{
    /// <summary><c>redis://host[:6379]</c> or <c>nats://[user:password@]host[:4222]</c>; the scheme was checked by <see cref="HostSettings"/>.</summary>
    public static IPubSubBackplane Create(Uri broker, HistorySettings? history) => broker.Scheme switch
    {
        "redis" => CreateRedis(broker, history),
        "nats" => CreateNats(broker, history),
        _ => throw new ArgumentException($"unsupported backplane '{broker}'", nameof(broker)),
    };

    private static IPubSubBackplane CreateRedis(Uri broker, HistorySettings? history)
    {
        var options = new RedisBackplaneOptions { Configuration = $"{broker.Host}:{(broker.IsDefaultPort ? 6379 : broker.Port)}" };
        return history is null
            ? new RedisBackplane(options)
            : new RedisHistoryBackplane(options, new RedisHistoryOptions { MaxMessages = history.MaxMessages, TimeToLive = history.TimeToLive });
    }

    private static IPubSubBackplane CreateNats(Uri broker, HistorySettings? history)
    {
        var options = new NatsBackplaneOptions
        {
            // NATS takes its credentials from the URL; the path and query mean nothing to it.
            Url = $"nats://{(broker.UserInfo.Length > 0 ? broker.UserInfo + "@" : "")}{broker.Host}:{(broker.IsDefaultPort ? 4222 : broker.Port)}",
        };
        return history is null
            ? new NatsBackplane(options)
            : new NatsHistoryBackplane(options, new NatsHistoryOptions { MaxMessages = history.MaxMessages, TimeToLive = history.TimeToLive });
    }
}
