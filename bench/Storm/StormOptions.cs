using System.Globalization;

namespace Storm;

/// <summary>
/// The storm's command line. Defaults are the fault run of issue 18: 19,000 connections (the server holds them all
/// plus its own descriptors, under the 20,000 open-files limit) over 4 client processes, heartbeats every second,
/// 5 minutes, a fresh client every 250 ms that must be served within 250 ms. <c>--quick</c>: the CI smoke run.
/// </summary>
internal sealed record StormOptions
{
    public int Connections { get; init; } = 19_000;
    public int Clients { get; init; } = 4;
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan HoldMax { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Each slot's first connect waits a random time under this (0: all at once), as clients that reconnect with jitter
    /// do; from then on it cycles as fast as it can. 19,000 connects in the same instant are a different fault (a
    /// thundering herd, reported on its own with <c>--ramp 0</c>): a server that upgrades ~9,000 a second queues a fresh
    /// client behind thousands in the kernel's accept queue, whatever it does.
    /// </summary>
    public TimeSpan Ramp { get; init; } = TimeSpan.FromSeconds(2);
    public double ResetFraction { get; init; } = 0.25;
    public TimeSpan ProbeEvery { get; init; } = TimeSpan.FromMilliseconds(250);
    public TimeSpan ProbeBound { get; init; } = TimeSpan.FromMilliseconds(250);
    public bool EnforceProbeBound { get; init; } = true;
    public string OutDirectory { get; init; } = "bench/results";
    public string? HostDll { get; init; }
    public string Transport { get; init; } = "auto";
    public string? ServerCpus { get; init; }
    public string? ClientCpus { get; init; }
    public bool Quick { get; init; }

    /// <summary>Environment variables for the Host alone (<c>--host-env NAME=VALUE</c>, repeatable): runtime settings to compare.</summary>
    public IReadOnlyDictionary<string, string> HostEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>The run's own nice value (probe and sampler); the server and clients start at 0 (<see cref="Launcher"/>).</summary>
    public int RunNice { get; init; }

    /// <summary>
    /// Whether the per-second samples also ask the Host for /stats and /metrics during the storm (the idle and end
    /// samples always do). <c>--stats-during false</c>: at its 20,000-descriptor limit such a request crashed the Host
    /// (docs/resilience.md, connection storm), so this keeps the storm itself to /proc readings.
    /// </summary>
    public bool StatsDuringStorm { get; init; } = true;

    public static StormOptions Parse(string[] args)
    {
        var options = new StormOptions();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--quick")
            {
                // The CI smoke run: 1,000 connections for 20 s. It checks that nothing is left behind; the 250 ms probe
                // bound is reported but not enforced (a bound that holds only on a quiet box is not a test). 1,000: fewer
                // than the Host's accept queue (4,096), so the smoke run never depends on dropped and retried SYNs.
                options = options with { Quick = true, Connections = 1000, Clients = 2, Duration = TimeSpan.FromSeconds(20), EnforceProbeBound = false };
                continue;
            }
            string value = i + 1 < args.Length ? args[i + 1] : throw new FormatException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--connections" => options with { Connections = Int(value) },
                "--clients" => options with { Clients = Int(value) },
                "--duration" => options with { Duration = ParseTime(value) },
                "--heartbeat" => options with { Heartbeat = ParseTime(value) },
                "--hold-max" => options with { HoldMax = ParseTime(value) },
                "--ramp" => options with { Ramp = ParseTime(value) },
                "--reset-fraction" => options with { ResetFraction = double.Parse(value, CultureInfo.InvariantCulture) },
                "--probe-every" => options with { ProbeEvery = ParseTime(value) },
                "--probe-bound" => options with { ProbeBound = ParseTime(value) },
                "--enforce-probe-bound" => options with { EnforceProbeBound = bool.Parse(value) },
                "--out" => options with { OutDirectory = value },
                "--host" => options with { HostDll = value },
                "--transport" => options with { Transport = value },
                "--server-cpus" => options with { ServerCpus = value },
                "--client-cpus" => options with { ClientCpus = value },
                "--stats-during" => options with { StatsDuringStorm = bool.Parse(value) },
                "--host-env" => options with { HostEnvironment = WithVariable(options.HostEnvironment, value) },
                _ => throw new FormatException($"unknown option {args[i]}"),
            };
            i++;
        }
        if (options.Connections / options.Clients > 15_000)
        {
            throw new FormatException("more than 15,000 connections per client process: use more --clients (20,000 open files per process)");
        }
        return options;
    }

    private static Dictionary<string, string> WithVariable(IReadOnlyDictionary<string, string> environment, string assignment)
    {
        int equals = assignment.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new FormatException($"--host-env needs NAME=VALUE, not {assignment}");
        }
        return new Dictionary<string, string>(environment) { [assignment[..equals]] = assignment[(equals + 1)..] };
    }

    private static int Int(string value) => int.Parse(value, CultureInfo.InvariantCulture);

    /// <summary>"250ms", "90s", "5m" or plain seconds.</summary>
    public static TimeSpan ParseTime(string text)
    {
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            return TimeSpan.FromMilliseconds(double.Parse(text[..^2], CultureInfo.InvariantCulture));
        }
        char unit = text[^1];
        double n = double.Parse(char.IsAsciiLetter(unit) ? text[..^1] : text, CultureInfo.InvariantCulture);
        return unit switch
        {
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            _ => TimeSpan.FromSeconds(n),
        };
    }
}
