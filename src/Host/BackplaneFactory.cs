using Engine;
using Engine.Backplane;

namespace Host;

/// <summary>Builds the <see cref="IPubSubBackplane"/> named by <c>WS_BACKPLANE</c>, keeping history when <c>WS_HISTORY_*</c> asks.</summary>
internal static class BackplaneFactory
{
    /// <summary><c>redis://host[:6379]</c>; the scheme was checked by <see cref="HostSettings"/>.</summary>
    public static IPubSubBackplane Create(Uri broker, HistorySettings? history) => broker.Scheme switch
    {
        "redis" => CreateRedis(broker, history),
        _ => throw new ArgumentException($"unsupported backplane '{broker}'", nameof(broker)),
    };

    private static IPubSubBackplane CreateRedis(Uri broker, HistorySettings? history)
    {
        var options = new RedisBackplaneOptions { Configuration = $"{broker.Host}:{(broker.IsDefaultPort ? 6379 : broker.Port)}" };
        return history is null
            ? new RedisBackplane(options)
            : new RedisHistoryBackplane(options, new RedisHistoryOptions { MaxMessages = history.MaxMessages, TimeToLive = history.TimeToLive });
    }
}
