namespace Engine.Timers;

/// <summary>An intrusive node of the <see cref="TimerWheel"/>: one per connection, rescheduled to its nearest deadline.</summary>
internal abstract class TimerEntry
{
    /// <summary><see cref="DueTick"/> of an entry that is in no slot.</summary>
    internal const long Unscheduled = long.MinValue;

    internal TimerEntry? Previous;
    internal TimerEntry? Next;

    // The slot is the tick's low bits, so it is not stored (8 B less per connection with the padding it took).
    internal long DueTick = Unscheduled;

    /// <summary>Called on the wheel's thread, with no lock held, once the deadline has passed.</summary>
    public abstract void OnTimer(long nowMs);
}
