using System.Diagnostics;

namespace Bench;

/// <summary>Waiting for a Stopwatch timestamp: measurement windows open and close at set instants.</summary>
internal static class Timing
{
    /// <summary>Sleeps until <paramref name="timestamp"/>, to within about a millisecond (the last stretch in short sleeps).</summary>
    public static void SleepUntil(long timestamp)
    {
        while (true)
        {
            var left = timestamp - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return;
            }
            Thread.Sleep(TimeSpan.FromSeconds(Math.Max(0.0005, (double)left / Stopwatch.Frequency - 0.001)));
        }
    }

    public static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}
