using System.Diagnostics;
using HdrHistogram;

namespace CrossNode.Client;

/// <summary>
/// Bookkeeping of one measured phase, owned by the loop thread: which published messages every subscriber has received.
/// A message is complete when all <see cref="Subscribers"/> got it, or given up on (counted as missed) two seconds after
/// it was sent. Latency is recorded for messages whose timestamp lies in the measured window; the timestamp is the time
/// the message was due (fixed rate) or sent (window), so with a fixed rate a stalled path is charged for every message
/// queued behind the stall, not only the first (coordinated omission corrected).
/// </summary>
internal sealed class DeliveryTracker(int subscribers, LongHistogram latency, long recordFrom, long recordUntil)
{
    /// <summary>Messages unfinished at most; the oldest is given up on when a fixed rate outruns the path this far.</summary>
    private const int Ring = 1 << 16;
    private readonly int[] counts = new int[Ring];
    private readonly long[] sentAt = new long[Ring];
    private readonly long stallTicks = 2 * Stopwatch.Frequency;
    private long deliveries;

    public int Subscribers { get; } = subscribers;
    public LongHistogram Latency { get; } = latency;
    public long Published { get; private set; }
    public long Completed { get; private set; }
    public long Missed { get; private set; }

    /// <summary>Messages stamped inside the window, and their deliveries: in-window misses = published × subscribers − delivered.</summary>
    public long PublishedInWindow { get; private set; }
    public long DeliveredInWindow { get; private set; }

    /// <summary>Every delivery so far; read by the sampling thread.</summary>
    public long Deliveries => Volatile.Read(ref deliveries);

    public long Unfinished => Published - Completed;

    public long MissedInWindow => PublishedInWindow * Subscribers - DeliveredInWindow;

    public long NextSequence(long timestamp)
    {
        if (Published - Completed >= Ring)
        {
            GiveUpOldest();
        }
        var seq = Published++;
        counts[seq % Ring] = 0;
        sentAt[seq % Ring] = timestamp;
        if (InWindow(timestamp))
        {
            PublishedInWindow++;
        }
        return seq;
    }

    public void OnDelivery(long seq, long timestamp, long now)
    {
        // Late (already given up on), unknown or not this phase's: ignored.
        if (seq < Completed || seq >= Published || sentAt[seq % Ring] != timestamp)
        {
            return;
        }
        Volatile.Write(ref deliveries, deliveries + 1);
        if (InWindow(timestamp))
        {
            DeliveredInWindow++;
            Latency.RecordValue(Math.Max(0, now - timestamp));
        }
        counts[seq % Ring]++;
        Advance(now);
    }

    /// <summary>Completes the oldest messages that every subscriber has, or that waited longer than two seconds.</summary>
    public void Advance(long now)
    {
        while (Completed < Published)
        {
            var slot = Completed % Ring;
            if (counts[slot] >= Subscribers)
            {
                Completed++;
            }
            else if (now - sentAt[slot] > stallTicks)
            {
                GiveUpOldest();
            }
            else
            {
                break;
            }
        }
    }

    private void GiveUpOldest()
    {
        Missed += Subscribers - counts[Completed % Ring];
        Completed++;
    }

    private bool InWindow(long timestamp) => timestamp >= recordFrom && timestamp < recordUntil;
}
