using System.Globalization;

namespace Bench.Processes;

/// <summary>Reads a process's CPU time and resident memory from /proc.</summary>
internal static class ProcStat
{
    /// <summary>USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux.</summary>
    private const double TicksPerSecond = 100.0;

    /// <summary>utime + stime in seconds (fields 14 and 15 of /proc/PID/stat), or NaN if the process is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces; the fields after its closing parenthesis are plain.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>VmRSS from /proc/PID/status in bytes, or -1.</summary>
    public static long RssBytes(int pid) => StatusBytes(pid, "VmRSS:");

    /// <summary>
    /// RssAnon from /proc/PID/status in bytes, or -1: the resident memory no file backs (heaps, stacks), without the
    /// code and data pages mapped from the executable and libraries, which a process pages in once and shares.
    /// </summary>
    public static long AnonRssBytes(int pid) => StatusBytes(pid, "RssAnon:");

    private static long StatusBytes(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return -1;
    }
}
