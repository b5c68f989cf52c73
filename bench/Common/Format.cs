using System.Globalization;

namespace Bench;

/// <summary>Number formatting for progress lines and reports, invariant culture throughout.</summary>
internal static class Format
{
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1 << 20 when bytes % (1 << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1 << 10 when bytes % (1 << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} B",
    };

    public static string Number(double value)
    {
        if (double.IsNaN(value))
        {
            return "–";
        }
        var abs = Math.Abs(value);
        return abs switch
        {
            >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
            >= 10 => value.ToString("N1", CultureInfo.InvariantCulture),
            _ => value.ToString("N2", CultureInfo.InvariantCulture),
        };
    }
}
