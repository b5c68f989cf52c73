using System.Diagnostics;

namespace CrossNode.Client;

/// <summary>What the publishing connection sends on each loop turn; returns when it next wants a turn.</summary>
internal interface IPublishPlan
{
    long Tick(AppConnection publisher, long now);
}

/// <summary>Until every subscriber has seen one: a probe to each channel every 20 ms (the broker subscriptions are live end to end).</summary>
internal sealed class ProbePlan(byte[][] channelPrefixes) : IPublishPlan
{
    private readonly long every = Stopwatch.Frequency / 50;
    private long next;

    public long Tick(AppConnection publisher, long now)
    {
        if (now >= next)
        {
            for (var c = 0; c < channelPrefixes.Length; c++)
            {
                // The sequence field says which channel this probe went to.
                publisher.Publish(channelPrefixes[c], AppMessages.ProbeKind, c, now);
            }
            publisher.Flush();
            next = now + every;
        }
        return next;
    }
}

/// <summary>
/// Open loop: one message every <paramref name="interval"/> ticks from <paramref name="firstDue"/> until
/// <paramref name="stopAt"/>, whatever the deliveries do, each stamped with the time it was due.
/// </summary>
internal sealed class FixedRatePlan(byte[] prefix, DeliveryTracker tracker, long interval, long firstDue, long stopAt) : IPublishPlan
{
    /// <summary>Bytes the publisher may have waiting for the kernel before it skips due messages (the server stopped reading).</summary>
    private const int MaxPending = 1 << 20;
    private long nextDue = firstDue;

    /// <summary>Due messages not sent because <see cref="MaxPending"/> bytes were already waiting.</summary>
    public long Skipped { get; private set; }

    public long Tick(AppConnection publisher, long now)
    {
        tracker.Advance(now);
        var sent = false;
        // At most a second's worth per turn: a loop that was held up catches up over a few turns, never unbounded.
        for (var n = 0; nextDue <= now && nextDue < stopAt && n < 100_000; n++)
        {
            if (publisher.PendingBytes > MaxPending)
            {
                Skipped++;
            }
            else
            {
                publisher.Publish(prefix, AppMessages.LatencyKind, tracker.NextSequence(nextDue), nextDue);
                sent = true;
            }
            nextDue += interval;
        }
        if (sent)
        {
            publisher.Flush();
        }
        return nextDue < stopAt ? nextDue : now + Stopwatch.Frequency / 100;
    }
}

/// <summary>
/// Closed loop: keeps <paramref name="window"/> messages unfinished (not yet received by every subscriber) until
/// <paramref name="stopAt"/>, so deliveries/s is what the path sustains without queues growing; stamped when sent.
/// </summary>
internal sealed class WindowPlan(byte[] prefix, DeliveryTracker tracker, int window, long stopAt) : IPublishPlan
{
    public long Tick(AppConnection publisher, long now)
    {
        tracker.Advance(now);
        var sent = false;
        while (now < stopAt && tracker.Unfinished < window)
        {
            publisher.Publish(prefix, AppMessages.ThroughputKind, tracker.NextSequence(now), now);
            sent = true;
        }
        if (sent)
        {
            publisher.Flush();
        }
        // Deliveries complete messages inside the loop; the next turn refills the window.
        return now + Stopwatch.Frequency / 1000;
    }
}
