namespace Engine;

/// <summary>
/// What an <see cref="IPubSubBackplane"/> is handed when it is attached: its way to this node's channels. Messages from
/// the broker go to local subscribers through <see cref="Deliver"/>; the broker subscriptions follow
/// <see cref="HasSubscribers"/>. Kept apart from <see cref="PubSub"/> so that only the attached backplane, not every
/// application, can deliver as if a message came from another node. Thread-safe.
/// </summary>
public interface IBackplaneSink
{
    /// <summary>
    /// Delivers a message to this node's subscribers only, never back to the backplane. <paramref name="payload"/> is
    /// valid only during the call (it is framed once, before this returns). <paramref name="excludeId"/> is a local
    /// connection id to skip (0 for none). Returns how many subscribers it was queued to.
    /// </summary>
    int Deliver(string channel, ReadOnlySpan<byte> payload, MessageType type, long excludeId = 0);

    /// <summary>Whether <paramref name="channel"/> has a local subscriber now (what the broker subscription should follow).</summary>
    bool HasSubscribers(string channel);

    /// <summary>A snapshot of the channels that have local subscribers (to re-check them all after a reconnect).</summary>
    IReadOnlyList<string> Channels();
}
