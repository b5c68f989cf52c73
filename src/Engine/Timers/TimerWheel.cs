namespace Engine.Timers;

/// <summary>
/// A hashed timer wheel (Varghese and Lauck): O(1) schedule and cancel, one tick thread for all connections instead of
/// a timer per connection. Deadlines are coarse (one tick, 100 ms by default), which is what liveness and timeouts need.
/// Thread-safe: connections schedule from their I/O threads while the server's tick advances the wheel. A callback that
/// throws is a bug in one connection: it is counted and reported, and every other entry still fires.
/// </summary>
internal sealed class TimerWheel
{
    // How far out an entry is held: its 32-bit due tick is compared wrap-safe, so it must stay well inside 2^31 ticks
    // (at the finest resolution, 1 ms, this is 12 days; the sessions' deadlines are at most 24 days, and one further
    // out fires here, finds its deadline not reached and schedules itself again).
    internal const long Horizon = 1L << 30;

    private readonly TimerEntry?[] _slots;
    private readonly int _mask;
    private readonly long _tickMs;
    private readonly Lock _lock = new();
    private readonly List<TimerEntry> _expired = new();
    private readonly Action<Exception>? _onCallbackError;
    private long _currentTick;
    private long _callbackFailures;
    private int _scheduled;

    /// <param name="tickMs">The resolution: deadlines are rounded up to a multiple of it.</param>
    /// <param name="slotCount">Slots per lap (a power of two); entries further out than a lap wait in their slot.</param>
    /// <param name="nowMs">The clock now, in the milliseconds later passed to <see cref="Advance"/>.</param>
    /// <param name="onCallbackError">Told (on the advancing thread) when an entry's <see cref="TimerEntry.OnTimer"/> throws.</param>
    public TimerWheel(long tickMs, int slotCount, long nowMs, Action<Exception>? onCallbackError = null)
    {
        if (slotCount <= 0 || (slotCount & (slotCount - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(slotCount), "must be a power of two");
        }
        _slots = new TimerEntry?[slotCount];
        _mask = slotCount - 1;
        _tickMs = tickMs;
        _currentTick = nowMs / tickMs;
        _onCallbackError = onCallbackError;
    }

    /// <summary>Callbacks that threw since the wheel was made.</summary>
    public long CallbackFailures => Interlocked.Read(ref _callbackFailures);

    /// <summary>
    /// Entries waiting to fire now. Each live connection holds one; once every connection has ended it is back to what
    /// the server schedules for itself, so a count that stays above that is an entry (and its connection) left behind.
    /// </summary>
    public int Scheduled => Volatile.Read(ref _scheduled);

    /// <summary>Schedules (or moves) <paramref name="entry"/> to fire at <paramref name="dueMs"/>.</summary>
    public void Schedule(TimerEntry entry, long dueMs)
    {
        lock (_lock)
        {
            Unlink(entry);
            // Round up: an entry never fires before its deadline (only at the horizon, to be scheduled again).
            long tick = Math.Clamp((dueMs + _tickMs - 1) / _tickMs, _currentTick + 1, _currentTick + Horizon);
            entry.DueTick = (int)tick;
            int slot = (int)(tick & _mask);
            entry.Previous = null;
            entry.Next = _slots[slot];
            if (entry.Next is not null)
            {
                entry.Next.Previous = entry;
            }
            _slots[slot] = entry;
            _scheduled++;
        }
    }

    public void Cancel(TimerEntry entry)
    {
        lock (_lock)
        {
            Unlink(entry);
        }
    }

    /// <summary>Fires every entry due at or before <paramref name="nowMs"/>. Called by one thread at a time.</summary>
    public int Advance(long nowMs)
    {
        long target = nowMs / _tickMs;
        lock (_lock)
        {
            // After a long pause, one lap covers every slot; entries further out stay for their own round.
            long last = Math.Min(target, _currentTick + _slots.Length);
            int reached = (int)target;
            for (long tick = _currentTick + 1; tick <= last; tick++)
            {
                TimerEntry? entry = _slots[(int)(tick & _mask)];
                while (entry is not null)
                {
                    TimerEntry? next = entry.Next;
                    if (unchecked(entry.DueTick - reached) <= 0) // wrap-safe: due at or before the target
                    {
                        Unlink(entry);
                        _expired.Add(entry);
                    }
                    entry = next;
                }
            }
            _currentTick = Math.Max(_currentTick, target);
        }
        int fired = _expired.Count;
        for (int i = 0; i < fired; i++)
        {
            Fire(_expired[i], nowMs);
        }
        _expired.Clear();
        return fired;
    }

    private void Fire(TimerEntry entry, long nowMs)
    {
        try
        {
            entry.OnTimer(nowMs);
        }
        catch (Exception exception)
        {
            // One connection's bug must not stop every other connection's timeouts (nor leave the rest of this batch
            // to fire again next tick): the failure is counted and reported, and the wheel goes on.
            Interlocked.Increment(ref _callbackFailures);
            try
            {
                _onCallbackError?.Invoke(exception);
            }
            catch (Exception)
            {
                // The reporter failed too (a logger that throws): the count above still records the failure.
            }
        }
    }

    private void Unlink(TimerEntry entry)
    {
        // In a slot: second or later in its list (a previous entry), or first (the slot's head).
        int slot = entry.DueTick & _mask;
        if (entry.Previous is not null)
        {
            entry.Previous.Next = entry.Next;
        }
        else if (_slots[slot] == entry)
        {
            _slots[slot] = entry.Next;
        }
        else
        {
            return; // in no slot
        }
        if (entry.Next is not null)
        {
            entry.Next.Previous = entry.Previous;
        }
        entry.Previous = null;
        entry.Next = null;
        _scheduled--;
    }
}
