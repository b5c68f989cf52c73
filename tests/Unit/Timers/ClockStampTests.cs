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

    [Theory]
    [MemberData(nameof(Readings))]
    public void An_early_stamp_is_odd_and_at_most_1_ms_early(long ms)
    {
        int stamp = ClockStamp.Early(ms);
        Assert.True(ClockStamp.IsOdd(stamp));
        Assert.NotEqual(ClockStamp.None, stamp);
        long at = ClockStamp.ToMs(ms, stamp);
        Assert.InRange(ms - at, 0, 1);
    }

    [Theory]
    [MemberData(nameof(Readings))]
    public void A_deadline_stamp_is_even_not_none_and_never_early(long ms)
    {
        int stamp = ClockStamp.Deadline(ms);
        Assert.False(ClockStamp.IsOdd(stamp));
        Assert.NotEqual(ClockStamp.None, stamp);
        long at = ClockStamp.ToMs(ms, stamp);
        Assert.InRange(at - ms, 0, 3); // 3: the reading just before the low bits wrap to None, stamped 2
        Assert.False(ClockStamp.Reached(ms - 1, stamp));
    }
}
