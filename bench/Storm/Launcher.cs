using System.Globalization;

namespace Storm;

/// <summary>
/// How the run starts the Host and the client processes. The probe stands for a client on another machine, so the run
/// itself (probe and sampler) may have a higher priority than what it measures: <c>bench/storm.sh</c> starts it with
/// <c>nice -n -10</c> where it may (root), and the run starts the server and the clients back at the normal one. Else the
/// probe's own wake-ups wait behind four saturated client processes, and their delay is charged to the server.
/// </summary>
internal static class Launcher
{
    /// <summary>The command prefix: <c>[nice -n N] [taskset -c CPUS] dotnet</c>, N undoing <paramref name="runNice"/>.</summary>
    public static List<string> Command(string? cpus, int runNice)
    {
        var command = new List<string>();
        if (runNice < 0)
        {
            command.AddRange(["nice", "-n", (-runNice).ToString(CultureInfo.InvariantCulture)]);
        }
        if (cpus is not null)
        {
            command.AddRange(["taskset", "-c", cpus]);
        }
        command.Add("dotnet");
        return command;
    }

    /// <summary>This process's nice value (field 19 of /proc/self/stat); 0 where it cannot be read.</summary>
    public static int OwnNiceness()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            // The fields after the command name's closing parenthesis start at field 3 (state); nice is field 19.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[19 - 3], CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
