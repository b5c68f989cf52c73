namespace Engine.Timers;

/// <summary>An intrusive node of the <see cref="TimerWheel"/>: one per connection, rescheduled to its nearest deadline.</summary>
internal abstract class TimerEntry
{
    internal TimerEntry? Previous;
    internal TimerEntry? Next;

    // The tick's low 32 bits, compared wrap-safe (an entry is never more than 2^30 ticks out), and the slot is their
    // low bits, so neither a 64-bit tick nor a slot is stored (memory per idle connection). Whether the entry is in a
    // slot at all is told by its links, not by a sentinel tick (any 32-bit value is a real tick once the count wraps).
    internal int DueTick;

    /// <summary>Called on the wheel's thread, with no lock held, once the deadline has passed.</summary>
    public abstract void OnTimer(long nowMs);
}
