namespace Engine.Timers;

/// <summary>An intrusive node of the <see cref="TimerWheel"/>: one per connection, rescheduled to its nearest deadline.</summary>
internal abstract class TimerEntry
{
    internal TimerEntry? Previous;
    internal TimerEntry? Next;
    internal long DueTick;
    internal int Slot = -1;

    /// <summary>Called on the wheel's thread, with no lock held, once the deadline has passed.</summary>
    public abstract void OnTimer(long nowMs);
}
