using Engine.Timers;
using Xunit;

namespace Engine.Tests.Unit.Timers;

public class ClockStampTests
{
    public static TheoryData<long> Readings =>
    [
        0L, 1L, 2L, 999L, 1_000L, int.MaxValue - 1L, int.MaxValue, int.MaxValue + 1L, uint.MaxValue - 1L, uint.MaxValue,
        1L << 32, (1L << 32) + 1, (5L << 32) + 2, 1_000_000_000_000L, 1_000_000_000_001L,
    ];

    /// <summary>
    /// One field holds both kinds (a session's next ping time and its handshake or close deadline): the parity tells
    /// them apart, neither is None, an early time comes at most 1 ms early, and a deadline never early.
    /// </summary>
    [Theory]
    [MemberData(nameof(Readings))]
    public void Early_stamps_are_odd_and_deadlines_even_each_within_its_bound(long ms)
    {
        int early = ClockStamp.Early(ms), deadline = ClockStamp.Deadline(ms);
        Assert.True(ClockStamp.IsOdd(early));
        Assert.False(ClockStamp.IsOdd(deadline));
        Assert.DoesNotContain(ClockStamp.None, new[] { early, deadline });
        Assert.InRange(ms - ClockStamp.ToMs(ms, early), 0, 1);
        Assert.InRange(ClockStamp.ToMs(ms, deadline) - ms, 0, 3); // 3: the reading just before the low bits wrap to None, stamped 2
        Assert.False(ClockStamp.Reached(ms - 1, deadline));
    }
}
