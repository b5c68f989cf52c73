using System.Diagnostics;
using System.Reflection;

namespace Bench.Processes;

/// <summary>Keeps a benchmark's generator on its own CPU: the servers run on another, so neither steals the other's core.</summary>
internal static class CpuPinning
{
    /// <summary>The CPUs this process may run on, as /proc/self/status lists them (e.g. "1" or "0-1").</summary>
    public static string AllowedCpus()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            {
                return line["Cpus_allowed_list:".Length..].Trim();
            }
        }
        return "";
    }

    /// <summary>
    /// Runs this program again under <c>taskset -c <paramref name="cpu"/></c> (every thread it will start is then pinned)
    /// and returns its exit code; null when there is nothing to do (already pinned there, or a single-CPU box).
    /// </summary>
    public static int? RerunPinned(string[] args, string cpu)
    {
        if (Environment.ProcessorCount <= 1 || AllowedCpus() == cpu)
        {
            return null;
        }
        var info = SelfStartInfo(args);
        info.ArgumentList.Insert(0, info.FileName);
        info.ArgumentList.Insert(0, cpu);
        info.ArgumentList.Insert(0, "-c");
        info.FileName = "taskset";
        using var child = Process.Start(info)!;
        child.WaitForExit();
        return child.ExitCode;
    }

    /// <summary>How to start this same program again with other arguments (as the apphost or through <c>dotnet</c>).</summary>
    public static ProcessStartInfo SelfStartInfo(params string[] args)
    {
        var exe = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(exe) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            info.ArgumentList.Add((Assembly.GetEntryAssembly() ?? typeof(CpuPinning).Assembly).Location);
        }
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return info;
    }
}
