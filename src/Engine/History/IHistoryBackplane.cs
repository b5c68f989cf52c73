namespace Engine.History;

/// <summary>
/// A backplane whose broker keeps each channel's recent messages (Redis Streams, NATS JetStream) and numbers them: every
/// channel message gets an offset, and a client that comes back with the last offset it saw can be sent what it missed.
/// <para>
/// Contract, on top of <see cref="IPubSubBackplane"/>: while connected, <see cref="IPubSubBackplane.Publish"/> hands the
/// message to the broker and returns true; the broker appends it to the channel's history, which gives it the next
/// offset, and every node subscribed to the channel (the publishing node too) gets it back and passes it to
/// <see cref="IHistorySink.DeliverSequencedAsync"/>, one channel's messages in offset order. When the node's subscription
/// to a channel becomes active (the first time, and again after the broker connection is restored) the backplane calls
/// <see cref="IHistorySink.ResyncAsync"/>, which reads what was published meanwhile from the history. Together these
/// make delivery exactly once and in offset order on every node, across broker outages as far as the history reaches.
/// </para>
/// <para>Attached with <see cref="ChannelHistory"/>, which hands <see cref="IPubSubBackplane.Attach"/> an
/// <see cref="IHistorySink"/>. <see cref="HistoryBackplaneBase"/> implements the parts every broker shares.</para>
/// </summary>
public interface IHistoryBackplane : IPubSubBackplane
{
    /// <summary>
    /// Reads <paramref name="channel"/>'s newest position and the retained messages with an offset above
    /// <paramref name="after"/>, oldest first. A channel that has no history yet is given one (offset 0 and a new epoch),
    /// so a subscriber always learns a position it can come back with. Throws when the broker cannot be reached.
    /// </summary>
    ValueTask<HistoryPage> ReadHistoryAsync(string channel, long after, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes when this node's broker subscription to <paramref name="channel"/> is active, so every message
    /// published from then on reaches <see cref="IHistorySink.DeliverSequencedAsync"/>. <see cref="ChannelHistory.SubscribeAsync"/>
    /// awaits it (bounded by a timeout) for a channel's first local subscriber before it reads the channel's position:
    /// otherwise messages published in between would reach the new subscriber only from the history, and not at all
    /// once more of them than the history keeps had been published.
    /// </summary>
    Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken);
}
