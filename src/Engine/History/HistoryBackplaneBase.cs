namespace Engine.History;

/// <summary>
/// <see cref="BackplaneBase"/> for a broker that keeps history (<see cref="IHistoryBackplane"/>): attached only through
/// <see cref="ChannelHistory"/>, whose <see cref="IHistorySink"/> it hands the broker's numbered messages
/// (<see cref="DeliverSequencedAsync"/>), and a publish the broker refused or lost goes to this node's subscribers
/// without an offset (<see cref="DeliverUnsequenced"/>).
/// </summary>
public abstract class HistoryBackplaneBase : BackplaneBase, IHistoryBackplane
{
    /// <summary>The history layer this backplane was attached to.</summary>
    protected IHistorySink HistorySink => (IHistorySink)Sink;

    /// <inheritdoc/>
    public abstract ValueTask<HistoryPage> ReadHistoryAsync(string channel, long after, CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public abstract Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken);

    /// <summary>
    /// Refuses a plain sink (<see cref="PubSub.UseBackplane"/>): a history backplane leaves local delivery of what it
    /// publishes to the broker's numbered copy, which only a <see cref="ChannelHistory"/> receives.
    /// </summary>
    protected override void CheckSink(IBackplaneSink sink)
    {
        if (sink is not IHistorySink)
        {
            throw new InvalidOperationException("A history backplane is attached with ChannelHistory, not PubSub.UseBackplane.");
        }
    }

    /// <summary>
    /// Hands a message the broker numbered to <see cref="IHistorySink.DeliverSequencedAsync"/> (one channel's in order,
    /// awaiting each), counting it as received when another node published it (this node's own come back too).
    /// </summary>
    protected ValueTask DeliverSequencedAsync(string channel, ChannelPosition position, ReadOnlyMemory<byte> envelope)
    {
        if (BackplaneEnvelope.TryRead(envelope.Span, out Guid origin, out _, out _, out _) && origin != NodeId)
        {
            CountReceived();
        }
        return HistorySink.DeliverSequencedAsync(channel, position, envelope);
    }

    /// <summary>
    /// The broker refused or lost a publish it had taken: counted as undelivered, and delivered to this node's
    /// subscribers without an offset (skipping its sender) rather than lost.
    /// </summary>
    protected void DeliverUnsequenced(string channel, byte[] envelope)
    {
        CountUndelivered();
        if (BackplaneEnvelope.TryRead(envelope, out _, out long senderId, out MessageType type, out ReadOnlySpan<byte> payload))
        {
            Sink.Deliver(channel, payload, type, senderId);
        }
    }
}
