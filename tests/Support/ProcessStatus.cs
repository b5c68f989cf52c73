using System.Globalization;

namespace Engine.Tests.Support;

/// <summary>A process's resident memory and thread count, read from <c>/proc/PID/status</c> (Linux), for the soak and storm samplers.</summary>
public static class ProcessStatus
{
    /// <summary>VmRSS in bytes and the thread count; -1 for a field the file does not have.</summary>
    public static (long RssBytes, int Threads) Read(int pid)
    {
        long rss = -1;
        int threads = -1;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        return (rss, threads);
    }
}
