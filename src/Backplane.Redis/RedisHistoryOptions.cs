namespace Engine.Backplane;

/// <summary>How much of each channel's history a <see cref="RedisHistoryBackplane"/> keeps (at least one limit is set).</summary>
public sealed record RedisHistoryOptions
{
    /// <summary>The last this many messages per channel (0: no count limit).</summary>
    public int MaxMessages { get; init; }

    /// <summary>Messages younger than this (<see cref="TimeSpan.Zero"/>: no age limit).</summary>
    public TimeSpan TimeToLive { get; init; }

    /// <summary>Throws unless at least one limit is set and none is negative: an unbounded history would grow forever.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxMessages);
        ArgumentOutOfRangeException.ThrowIfLessThan(TimeToLive, TimeSpan.Zero);
        if (MaxMessages == 0 && TimeToLive == TimeSpan.Zero)
        {
            throw new ArgumentException("Set MaxMessages, TimeToLive or both: an unbounded history would grow forever.");
        }
    }
}
