using System.Text;
using Microsoft.Extensions.Configuration;

namespace Host;

/// <summary>
/// Builds the Host's <see cref="IConfiguration"/> from <see cref="HostSettings.Table"/>: the JSON file, the <c>WS_*</c>
/// environment variables and the command line, in that order of precedence (later wins). Every key lives in section
/// <c>Host</c>, named after its environment variable; values are read by hand, so nothing needs reflection (trim/AOT safe).
/// </summary>
public static class HostConfiguration
{
    /// <summary>The configuration section of the Host's settings.</summary>
    public const string Section = "Host";

    /// <summary>The flags that take no value: they select the mode or ask for help.</summary>
    private static readonly Dictionary<string, string?> ValuelessFlags = new(StringComparer.Ordinal)
    {
        ["--app"] = "app",
        ["--echo"] = "echo",
        ["--broadcast"] = "broadcast",
        ["--help"] = null,
        ["-h"] = null,
    };

    /// <summary>The configuration key of a setting: <c>WS_HEARTBEAT_INTERVAL</c> is <c>Host:HeartbeatInterval</c>.</summary>
    public static string Key(string env)
    {
        ArgumentNullException.ThrowIfNull(env);
        StringBuilder key = new StringBuilder(Section).Append(':');
        foreach (string word in env.AsSpan(env.StartsWith("WS_", StringComparison.Ordinal) ? 3 : 0).ToString().Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            key.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1).ToString().ToLowerInvariant());
        }
        return key.ToString();
    }

    /// <summary>
    /// The configuration of <paramref name="args"/> over <paramref name="environment"/> over the JSON file. Unknown flags,
    /// a flag without its value and unknown keys in the file's <c>Host</c> section throw <see cref="FormatException"/>
    /// (a typo should not silently run with a default).
    /// </summary>
    public static IConfigurationRoot Build(string[] args, Func<string, string?> environment, out bool help)
    {
        var configuration = new ConfigurationManager();
        Add(configuration, args, environment, out help);
        return configuration;
    }

    /// <summary>
    /// Adds the Host's sources to <paramref name="configuration"/> (a Generic Host's <c>builder.Configuration</c>): the
    /// JSON file, then <paramref name="environment"/>, then <paramref name="args"/>, each over the one before, and checks
    /// them as <see cref="Build"/> does. The sources load as they are added, so bad JSON throws here.
    /// </summary>
    public static void Add(IConfigurationManager configuration, string[] args, Func<string, string?> environment, out bool help)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        List<string> commandLine = Normalize(args, out help);

        // The file is found first, from the environment or the command line (the file cannot name itself).
        string? given = null;
        for (int i = 0; i < commandLine.Count; i += 2)
        {
            if (commandLine[i] == "--config")
            {
                given = commandLine[i + 1];
            }
        }
        given ??= environment("WS_CONFIG") is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        string path = Path.GetFullPath(given ?? "appsettings.json", Environment.CurrentDirectory);
        if (given is not null && !File.Exists(path))
        {
            throw new FormatException($"WS_CONFIG: settings file '{path}' not found");
        }

        var switches = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string Env, string Flag, string Default, string Meaning) row in HostSettings.Table)
        {
            if (row.Flag.StartsWith("--", StringComparison.Ordinal))
            {
                switches[row.Flag] = Key(row.Env);
            }
        }
        configuration.AddJsonFile(path, optional: true, reloadOnChange: false);
        configuration.Add(new EnvironmentSource(environment));
        configuration.AddCommandLine([.. commandLine], switches);
        foreach (IConfigurationSection entry in configuration.GetSection(Section).GetChildren())
        {
            if (!Array.Exists(HostSettings.Table, row => string.Equals(Key(row.Env), entry.Path, StringComparison.OrdinalIgnoreCase)))
            {
                throw new FormatException($"unknown setting '{entry.Path}' in {path} (see --help)");
            }
        }
    }

    /// <summary>
    /// Checks the command line against the table and turns it into <c>--flag value</c> pairs: <c>--flag=value</c> is
    /// split, <c>--echo</c> becomes <c>--mode echo</c>, <c>--help</c> is taken out.
    /// </summary>
    private static List<string> Normalize(string[] args, out bool help)
    {
        help = false;
        var pairs = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (ValuelessFlags.TryGetValue(arg, out string? mode))
            {
                if (mode is null)
                {
                    help = true;
                }
                else
                {
                    pairs.Add("--mode");
                    pairs.Add(mode);
                }
                continue;
            }
            string flag = arg;
            string? value = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 2)
            {
                flag = arg[..equals];
                value = arg[(equals + 1)..];
            }
            if (!Array.Exists(HostSettings.Table, row => row.Flag == flag) || !flag.StartsWith("--", StringComparison.Ordinal))
            {
                throw new FormatException($"unknown option '{arg}' (see --help)");
            }
            if (value is null)
            {
                if (i + 1 >= args.Length)
                {
                    throw new FormatException($"option '{arg}' needs a value (see --help)");
                }
                value = args[++i];
            }
            pairs.Add(flag);
            pairs.Add(value);
        }
        return pairs;
    }

    /// <summary>The <c>WS_*</c> variables of the table, mapped to their keys; an empty variable counts as unset.</summary>
    private sealed class EnvironmentSource(Func<string, string?> environment) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(environment);

        private sealed class Provider(Func<string, string?> environment) : ConfigurationProvider
        {
            public override void Load()
            {
                var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                foreach ((string Env, string Flag, string Default, string Meaning) row in HostSettings.Table)
                {
                    if (environment(row.Env) is { Length: > 0 } value)
                    {
                        data[Key(row.Env)] = value;
                    }
                }
                Data = data;
            }
        }
    }
}
