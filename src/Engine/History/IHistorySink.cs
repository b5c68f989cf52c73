namespace Engine.History;

/// <summary>
/// What a <see cref="ChannelHistory"/> hands its <see cref="IHistoryBackplane"/> at attach time: on top of plain local
/// delivery (a publish the broker refused goes out without an offset), the sequenced delivery of the messages the
/// broker numbered. Thread-safe.
/// </summary>
public interface IHistorySink : IBackplaneSink
{
    /// <summary>
    /// Delivers a message the broker handed back with its position to this node's subscribers: called for each message
    /// of a channel, in order, awaiting each. An offset delivered already is skipped; one beyond the next expected first
    /// gets the missing ones from the history. <paramref name="envelope"/> (a <see cref="BackplaneEnvelope"/>) must stay
    /// valid until the returned task completes.
    /// </summary>
    ValueTask DeliverSequencedAsync(string channel, ChannelPosition position, ReadOnlyMemory<byte> envelope);

    /// <summary>
    /// Catches this node up with the broker: delivers what the history holds beyond the last offset delivered here.
    /// Called when the backplane's subscription to <paramref name="channel"/> becomes active, the first time and after
    /// every reconnect, so messages published meanwhile are not lost.
    /// </summary>
    Task ResyncAsync(string channel);
}
