namespace Engine.Timers;

/// <summary>
/// A clock reading in milliseconds kept in 32 bits, so that a connection's deadlines take 4 bytes each rather than 8
/// (memory per idle connection). The low 32 bits wrap every 49.7 days, so a stamp is only compared with a reading
/// within 24.8 days of it: every timeout is at most 24 days (<see cref="WebSocketServerOptions.Validate"/>), and a
/// deadline is looked at again by the wheel within one of them. <see cref="None"/> means no deadline; a reading whose
/// low bits are 0 is stamped 1 ms later.
/// </summary>
internal static class ClockStamp
{
    public const int None = 0;

    /// <summary>The longest timeout a stamp can hold (the wrap-safe range is 2^31 ms, about 24.8 days).</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(24);

    public static int Of(long ms)
    {
        int stamp = unchecked((int)ms);
        return stamp == None ? 1 : stamp;
    }

    /// <summary>
    /// A stamp that is odd, at most 1 ms before <paramref name="ms"/>: for times that may come a little early (never
    /// <see cref="None"/>, which is even). With <see cref="Deadline"/> one field can hold two kinds of stamps and a
    /// reader tell which it holds.
    /// </summary>
    public static int Early(long ms) => unchecked(((int)ms - 1) | 1);

    /// <summary>A stamp that is even and not <see cref="None"/>, at most 3 ms after <paramref name="ms"/>: never early.</summary>
    public static int Deadline(long ms)
    {
        int stamp = unchecked((int)ms + ((int)ms & 1));
        return stamp == None ? 2 : stamp;
    }

    public static bool IsOdd(int stamp) => (stamp & 1) != 0;

    /// <summary>Whether <paramref name="nowMs"/> is at or past <paramref name="stamp"/>.</summary>
    public static bool Reached(long nowMs, int stamp) => unchecked((int)nowMs - stamp) >= 0;

    /// <summary>The full clock reading that <paramref name="stamp"/> stands for, given a reading near it.</summary>
    public static long ToMs(long nowMs, int stamp) => nowMs + unchecked(stamp - (int)nowMs);
}
