namespace CrossNode.Setups;

/// <summary>
/// One way of wiring publisher and subscribers: a single Host, or two Hosts (publisher on node A, subscribers on
/// node B) sharing channels through a broker (<c>redis</c> or <c>nats</c>), optionally with channel history on.
/// </summary>
internal sealed record SetupSpec(string Name, string Label, string? Broker, bool History)
{
    public const string SingleNode = "single";

    public static IReadOnlyList<SetupSpec> All { get; } =
    [
        new(SingleNode, "single node (no backplane)", null, false),
        new("redis", "2 nodes via Redis", "redis", false),
        new("nats", "2 nodes via NATS", "nats", false),
        new("redis-history", "2 nodes via Redis, history on", "redis", true),
        new("nats-history", "2 nodes via NATS, history on", "nats", true),
    ];

    public bool TwoNodes => Broker is not null;
}
