namespace Engine.Backplane;

/// <summary>How much of each channel's history a <see cref="NatsHistoryBackplane"/> keeps (at least one limit is set).</summary>
public sealed record NatsHistoryOptions
{
    /// <summary>The last this many messages per channel (0: no count limit); the stream's <c>max_msgs</c> is this plus <see cref="DeliverySlack"/>.</summary>
    public int MaxMessages { get; init; }

    /// <summary>Messages younger than this (<see cref="TimeSpan.Zero"/>: no age limit): the stream's <c>max_age</c>.</summary>
    public TimeSpan TimeToLive { get; init; }

    /// <summary>
    /// Keep the streams in memory instead of on disk: faster, but a broker restart loses every channel's history (the
    /// channels then start again with a new epoch, and clients are told <c>recovered:false</c>). Default false (file).
    /// </summary>
    public bool MemoryStorage { get; init; }

    /// <summary>
    /// Messages a stream keeps beyond <see cref="MaxMessages"/> and does not show as history. JetStream removes messages
    /// over a stream's limit when new ones are stored, also those a consumer was not sent yet; the slack lets a burst
    /// that size reach every node live. Default 1,000.
    /// </summary>
    public int DeliverySlack { get; init; } = 1000;

    /// <summary>How long a publish may wait for the broker's acknowledgement before it counts as not delivered.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws unless at least one limit is set and none is negative: an unbounded history would grow forever.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxMessages);
        ArgumentOutOfRangeException.ThrowIfLessThan(TimeToLive, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AckTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(DeliverySlack);
        if (MaxMessages == 0 && TimeToLive == TimeSpan.Zero)
        {
            throw new ArgumentException("Set MaxMessages, TimeToLive or both: an unbounded history would grow forever.");
        }
    }
}
