using Engine;
using Engine.Backplane;

namespace Host;

/// <summary>Builds the <see cref="IPubSubBackplane"/> named by <c>WS_BACKPLANE</c>.</summary>
internal static class BackplaneFactory
{
    /// <summary><c>redis://host[:6379]</c>; the scheme was checked by <see cref="HostSettings"/>.</summary>
    public static IPubSubBackplane Create(Uri broker) => broker.Scheme switch
    {
        "redis" => new RedisBackplane(new RedisBackplaneOptions
        {
            Configuration = $"{broker.Host}:{(broker.IsDefaultPort ? 6379 : broker.Port)}",
        }),
        _ => throw new ArgumentException($"unsupported backplane '{broker}'", nameof(broker)),
    };
}
