namespace Engine;

/// <summary>
/// The <see cref="IBackplaneSink"/> a <see cref="PubSub"/> hands its backplane: local delivery and the subscriber
/// checks, nothing else of the channel API. Not sealed: the history layer's sink adds the sequenced delivery to it.
/// </summary>
internal class PubSubSink(PubSub pubSub) : IBackplaneSink
{
    protected PubSub PubSub { get; } = pubSub;

    public int Deliver(string channel, ReadOnlySpan<byte> payload, MessageType type, long excludeId = 0) =>
        PubSub.DeliverLocal(channel, payload, type, excludeId);

    public bool HasSubscribers(string channel) => PubSub.SubscriberCount(channel) > 0;

    public IReadOnlyList<string> Channels() => PubSub.Channels();
}
