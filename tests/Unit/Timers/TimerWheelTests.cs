using Engine.Timers;

namespace Engine.Tests.Unit.Timers;

public class TimerWheelTests
{
    private sealed class Probe(string name = "") : TimerEntry
    {
        public string Name { get; } = name;

        public List<long> Fired { get; } = [];

        public Action<long>? OnFire { get; set; }

        public override void OnTimer(long nowMs)
        {
            Fired.Add(nowMs);
            OnFire?.Invoke(nowMs);
        }
    }

    private const long Tick = 100;

    /// <summary>Advances 1 ms at a time from <paramref name="from"/> to <paramref name="to"/> inclusive.</summary>
    private static void Walk(TimerWheel wheel, long from, long to)
    {
        for (long now = from; now <= to; now++)
        {
            wheel.Advance(now);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(99)]
    [InlineData(100)]
    [InlineData(101)]
    [InlineData(250)]
    [InlineData(799)]
    [InlineData(800)] // one full lap of 8 slots
    [InlineData(2550)] // several laps: shares its slot with ticks 2, 10 and 18
    [InlineData(10_001)]
    public void Fires_never_early_and_within_one_tick_after_the_deadline(long due)
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0);
        var probe = new Probe();
        wheel.Schedule(probe, due);
        Walk(wheel, 1, due - 1);
        Assert.Empty(probe.Fired);
        Walk(wheel, due, due + Tick + 5);
        long fired = Assert.Single(probe.Fired);
        Assert.InRange(fired, due, due + Tick - 1);
        Assert.Equal((due + Tick - 1) / Tick * Tick, fired); // the first tick boundary at or after the deadline
    }

    [Fact]
    public void Random_deadlines_and_random_steps_fire_exactly_once_at_the_first_advance_past_their_tick()
    {
        var random = new Random(6455);
        var wheel = new TimerWheel(Tick, slotCount: 16, nowMs: 0);
        var probes = new List<(Probe Probe, long Due)>();
        for (int i = 0; i < 300; i++)
        {
            long due = random.Next(1, 20_000);
            var probe = new Probe(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            wheel.Schedule(probe, due);
            probes.Add((probe, due));
        }
        var advances = new List<long>();
        long now = 0;
        while (now < 25_000)
        {
            // Mostly small steps, sometimes a pause of several laps (16 slots × 100 ms = 1.6 s).
            now += random.Next(10) == 0 ? random.Next(1_000, 5_000) : random.Next(1, 150);
            wheel.Advance(now);
            advances.Add(now);
        }
        foreach ((Probe probe, long due) in probes)
        {
            long fired = Assert.Single(probe.Fired);
            long boundary = (due + Tick - 1) / Tick * Tick;
            long expected = advances.First(a => a >= boundary);
            Assert.True(fired == expected, $"entry {probe.Name} due {due} fired at {fired}, expected {expected}");
            Assert.True(fired >= due);
        }
    }

    [Fact]
    public void Cancelled_entries_never_fire_wherever_they_sit_in_a_slot()
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0);
        // Same slot: ticks 3, 11 and 19 with 8 slots.
        var a = new Probe("a");
        var b = new Probe("b");
        var c = new Probe("c");
        var d = new Probe("d");
        wheel.Schedule(a, 300);
        wheel.Schedule(b, 300);
        wheel.Schedule(c, 300);
        wheel.Schedule(d, 1100);
        wheel.Cancel(b); // middle of the chain
        wheel.Cancel(c); // head of the chain
        wheel.Cancel(c); // twice is harmless
        wheel.Cancel(new Probe()); // never scheduled
        Assert.Equal(1, wheel.Advance(300));
        Assert.Single(a.Fired);
        Assert.Empty(b.Fired);
        Assert.Empty(c.Fired);
        wheel.Cancel(d); // the last one left
        Assert.Equal(0, wheel.Advance(5_000));
        Assert.Empty(d.Fired);
    }

    [Fact]
    public void Scheduled_counts_each_waiting_entry_once_through_moves_cancels_and_fires()
    {
        // The connection-storm run reads this count (websocket.server.timers.scheduled) to prove no entry is left behind.
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0);
        var a = new Probe("a");
        var b = new Probe("b");
        var c = new Probe("c");
        var again = new Probe("again");
        again.OnFire = now => wheel.Schedule(again, now + 1000); // a heartbeat re-arming itself from its callback
        wheel.Schedule(a, 300);
        wheel.Schedule(b, 300);
        wheel.Schedule(c, 900); // another lap, same slot as 100
        wheel.Schedule(again, 200);
        Assert.Equal(4, wheel.Scheduled);
        wheel.Schedule(a, 700); // moved, not added
        wheel.Schedule(b, 300); // rescheduled in place
        Assert.Equal(4, wheel.Scheduled);
        wheel.Cancel(c);
        wheel.Cancel(c); // twice is harmless
        wheel.Cancel(new Probe()); // never scheduled
        Assert.Equal(3, wheel.Scheduled);
        Assert.Equal(2, wheel.Advance(300)); // b fires; again fires and re-arms
        Assert.Equal(2, wheel.Scheduled);
        Assert.Equal(1, wheel.Advance(800)); // a
        Assert.Equal(1, wheel.Scheduled); // only the re-armed one
        wheel.Cancel(again);
        Assert.Equal(0, wheel.Scheduled);
        Assert.Equal(0, wheel.Advance(5_000));
    }

    [Fact]
    public void Rescheduling_moves_the_deadline_later_or_earlier()
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0);
        var later = new Probe();
        var earlier = new Probe();
        wheel.Schedule(later, 500);
        wheel.Schedule(earlier, 3_000);
        wheel.Schedule(later, 1_500);
        wheel.Schedule(earlier, 200);
        Walk(wheel, 1, 199);
        Assert.Empty(earlier.Fired);
        Walk(wheel, 200, 1_499);
        Assert.Equal([200L], earlier.Fired);
        Assert.Empty(later.Fired);
        Walk(wheel, 1_500, 3_500);
        Assert.Equal([1_500L], later.Fired);
        Assert.Equal([200L], earlier.Fired);
    }

    [Fact]
    public void An_entry_may_reschedule_itself_from_its_callback()
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0);
        var probe = new Probe();
        probe.OnFire = now =>
        {
            if (probe.Fired.Count < 5)
            {
                wheel.Schedule(probe, now + 1_000);
            }
        };
        wheel.Schedule(probe, 1_000);
        Walk(wheel, 1, 10_000);
        Assert.Equal([1_000L, 2_000L, 3_000L, 4_000L, 5_000L], probe.Fired);
    }

    [Fact]
    public void A_long_pause_fires_everything_due_and_keeps_what_is_not()
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 1_000);
        var soon = new Probe();
        var lapLater = new Probe();
        var farLater = new Probe();
        var afterPause = new Probe();
        wheel.Schedule(soon, 1_150);
        wheel.Schedule(lapLater, 1_900);
        wheel.Schedule(farLater, 6_000);
        wheel.Schedule(afterPause, 30_000);
        Assert.Equal(3, wheel.Advance(20_000)); // one call after 19 s: many laps of the 0.8 s wheel
        Assert.Equal([20_000L], soon.Fired);
        Assert.Equal([20_000L], lapLater.Fired);
        Assert.Equal([20_000L], farLater.Fired);
        Assert.Empty(afterPause.Fired);
        Assert.Equal(0, wheel.Advance(29_999));
        Assert.Equal(1, wheel.Advance(30_000));
        Assert.Equal([30_000L], afterPause.Fired);
    }

    [Fact]
    public void A_pause_shorter_than_the_deadline_but_longer_than_a_lap_does_not_fire_early()
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0);
        var probe = new Probe();
        wheel.Schedule(probe, 2_550);
        Assert.Equal(0, wheel.Advance(1_000));
        Assert.Equal(0, wheel.Advance(2_300)); // passes slot 2 twice more
        Assert.Equal(0, wheel.Advance(2_599));
        Assert.Equal(1, wheel.Advance(2_600));
    }

    [Theory]
    [InlineData(int.MaxValue - 5L)] // the 32-bit due tick wraps from positive to negative: b's reads as long past
    [InlineData((1L << 32) + (1L << 31) - 5)] // the same on a later lap of the 32-bit count
    [InlineData(uint.MaxValue - 5L)] // from -1 to 0
    public void Ticks_past_the_32_bit_wrap_fire_in_order_and_cancel(long startTick)
    {
        long start = startTick * Tick;
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: start);
        Probe a = new("a"), b = new("b"), c = new("c"), d = new("d");
        wheel.Schedule(a, start + 2 * Tick);
        wheel.Schedule(b, start + 10 * Tick); // a's slot, one lap later: walked at a's tick, and must stay
        wheel.Schedule(c, start + 4 * Tick);
        wheel.Schedule(d, start + 6 * Tick);
        wheel.Cancel(d);
        Assert.Equal(3, wheel.Scheduled);
        Assert.Equal(0, wheel.Advance(start + Tick));
        Assert.Equal(1, wheel.Advance(start + 3 * Tick));
        Assert.Equal(1, wheel.Advance(start + 5 * Tick));
        Assert.Equal(0, wheel.Advance(start + 10 * Tick - 1));
        Assert.Equal(1, wheel.Advance(start + 10 * Tick));
        Assert.Equal([start + 3 * Tick], a.Fired);
        Assert.Equal([start + 10 * Tick], b.Fired);
        Assert.Equal([start + 5 * Tick], c.Fired);
        Assert.Empty(d.Fired);
        Assert.Equal(0, wheel.Scheduled);
    }

    [Fact]
    public void An_entry_beyond_the_horizon_fires_there_and_never_early_on_a_wrapped_comparison()
    {
        // Its 32-bit tick is compared wrap-safe, so it is held at most 2^30 ticks out: beyond, it fires at the horizon
        // (its owner finds its deadline not reached and schedules again) instead of looking due at once.
        var wheel = new TimerWheel(1, slotCount: 8, nowMs: 0);
        var probe = new Probe();
        wheel.Schedule(probe, 3L << 31); // 6 * 2^30 ms: its low 32 bits would read as long past
        Assert.Equal(0, wheel.Advance(1_000));
        Assert.Equal(0, wheel.Advance(TimerWheel.Horizon - 1));
        Assert.Equal(1, wheel.Advance(TimerWheel.Horizon));
        Assert.Equal([TimerWheel.Horizon], probe.Fired);
    }

    [Fact]
    public void A_deadline_already_past_fires_on_the_next_tick()
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 5_000);
        var probe = new Probe();
        wheel.Schedule(probe, 1_000);
        Assert.Equal(0, wheel.Advance(5_099));
        Assert.Equal(1, wheel.Advance(5_100));
    }

    [Fact]
    public void A_callback_that_throws_is_reported_and_the_others_still_fire()
    {
        var reported = new List<Exception>();
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0, reported.Add);
        var before = new Probe("before");
        var faulty = new Probe("faulty") { OnFire = _ => throw new InvalidOperationException("bug in one connection") };
        var after = new Probe("after");
        var later = new Probe("later");
        // Same tick: the faulty entry sits between two healthy ones in the batch, whichever order the slot keeps.
        wheel.Schedule(before, 300);
        wheel.Schedule(faulty, 300);
        wheel.Schedule(after, 300);
        wheel.Schedule(later, 700);

        Assert.Equal(3, wheel.Advance(300)); // does not throw
        Assert.Equal([300L], before.Fired);
        Assert.Equal([300L], faulty.Fired);
        Assert.Equal([300L], after.Fired);
        Exception failure = Assert.Single(reported);
        Assert.Equal("bug in one connection", failure.Message);
        Assert.Equal(1, wheel.CallbackFailures);

        // The wheel goes on: the next tick fires only what is due then (the failed batch is not fired again).
        Assert.Equal(1, wheel.Advance(700));
        Assert.Equal([700L], later.Fired);
        Assert.Single(faulty.Fired);
        Assert.Single(before.Fired);
        Assert.Single(reported);
    }

    [Fact]
    public void A_reporter_that_throws_too_leaves_the_failure_counted_and_the_wheel_running()
    {
        var wheel = new TimerWheel(Tick, slotCount: 8, nowMs: 0, _ => throw new InvalidOperationException("logger down"));
        var faulty = new Probe { OnFire = _ => throw new InvalidOperationException("bug") };
        var healthy = new Probe();
        wheel.Schedule(faulty, 100);
        wheel.Schedule(healthy, 100);
        Assert.Equal(2, wheel.Advance(100));
        Assert.Equal([100L], healthy.Fired);
        Assert.Equal(1, wheel.CallbackFailures);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(100)]
    public void The_slot_count_must_be_a_power_of_two(int slots) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TimerWheel(Tick, slots, 0));
}
