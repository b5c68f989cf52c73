using System.Globalization;
using System.Net;
using Engine;

namespace Host;

/// <summary>What the Host runs: read from <c>WS_*</c> environment variables, then command-line flags (flags win).</summary>
public sealed record HostSettings
{
    /// <summary>The handler the Host runs.</summary>
    public enum HostMode
    {
        /// <summary>Echo every message (conformance, benchmarks).</summary>
        Echo,
        /// <summary>Send every message to all other clients (fan-out benchmark).</summary>
        Broadcast,
    }

    /// <summary>The handler to run.</summary>
    public HostMode Mode { get; init; } = HostMode.Echo;

    /// <summary>The engine options.</summary>
    public WebSocketServerOptions Server { get; init; } = new();

    /// <summary>Set by <c>--help</c>.</summary>
    public bool ShowHelp { get; init; }

    /// <summary>Every setting: environment name, flag, default, meaning (printed by <c>--help</c>, mirrored in the README).</summary>
    public static readonly (string Env, string Flag, string Default, string Meaning)[] Table =
    [
        ("WS_PORT", "--port", "8080", "TCP port to listen on"),
        ("WS_ADDRESS", "--address", "::", "address to bind (:: is dual-stack IPv4+IPv6)"),
        ("WS_HEARTBEAT_INTERVAL", "--heartbeat-interval", "30000", "ms between server pings; 0 disables"),
        ("WS_HEARTBEAT_TIMEOUT", "--heartbeat-timeout", "10000", "ms to wait for a pong before terminating"),
        ("WS_MAX_MESSAGE_SIZE", "--max-message-size", "16777216", "largest message in bytes (1009 beyond)"),
        ("WS_HANDSHAKE_TIMEOUT", "--handshake-timeout", "5000", "ms to complete the HTTP upgrade"),
        ("WS_CLOSE_TIMEOUT", "--close-timeout", "5000", "ms the peer has to answer a close"),
        ("WS_IDLE_TIMEOUT", "--idle-timeout", "0", "ms without input before closing with 1001; 0 disables"),
        ("WS_MAX_BUFFERED", "--max-buffered", "4194304", "bytes queued per connection before the slow-consumer policy"),
        ("WS_SLOW_CONSUMER", "--slow-consumer", "fail-send", "fail-send | close-1008 | close-1013"),
        ("WS_SHUTDOWN_TIMEOUT", "--shutdown-timeout", "10000", "ms to wait for close replies on SIGTERM"),
        ("WS_MODE", "--echo / --broadcast", "echo", "echo: echo every message; broadcast: send each message to all other clients"),
    ];

    /// <summary>Reads settings from <paramref name="environment"/> and <paramref name="args"/>; throws <see cref="FormatException"/> on bad values.</summary>
    public static HostSettings Parse(string[] args, Func<string, string?> environment)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in Table)
        {
            if (environment(row.Env) is { Length: > 0 } value)
            {
                values[row.Env] = value;
            }
        }
        bool help = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--help" or "-h":
                    help = true;
                    continue;
                case "--echo":
                    values["WS_MODE"] = "echo";
                    continue;
                case "--broadcast":
                    values["WS_MODE"] = "broadcast";
                    continue;
            }
            int match = Array.FindIndex(Table, row => row.Flag == arg);
            if (match < 0 || i + 1 >= args.Length)
            {
                throw new FormatException($"unknown or incomplete option '{arg}' (see --help)");
            }
            values[Table[match].Env] = args[++i];
        }

        string Get(string env) => values.TryGetValue(env, out string? v) ? v : Array.Find(Table, row => row.Env == env).Default;
        long Number(string env) => long.TryParse(Get(env), NumberStyles.None, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new FormatException($"{env} must be a non-negative integer, got '{Get(env)}'");
        TimeSpan Ms(string env) => TimeSpan.FromMilliseconds(Number(env));

        var server = new WebSocketServerOptions
        {
            Port = (int)Number("WS_PORT"),
            Address = IPAddress.TryParse(Get("WS_ADDRESS"), out IPAddress? address) ? address : throw new FormatException($"WS_ADDRESS is not an IP address: '{Get("WS_ADDRESS")}'"),
            HeartbeatInterval = Ms("WS_HEARTBEAT_INTERVAL"),
            HeartbeatTimeout = Ms("WS_HEARTBEAT_TIMEOUT"),
            MaxMessageSize = Number("WS_MAX_MESSAGE_SIZE"),
            HandshakeTimeout = Ms("WS_HANDSHAKE_TIMEOUT"),
            CloseTimeout = Ms("WS_CLOSE_TIMEOUT"),
            IdleTimeout = Ms("WS_IDLE_TIMEOUT"),
            MaxBufferedBytes = Number("WS_MAX_BUFFERED"),
            ShutdownTimeout = Ms("WS_SHUTDOWN_TIMEOUT"),
            SlowConsumerPolicy = Get("WS_SLOW_CONSUMER") switch
            {
                "fail-send" => SlowConsumerPolicy.FailSend,
                "close-1008" => SlowConsumerPolicy.ClosePolicyViolation,
                "close-1013" => SlowConsumerPolicy.CloseTryAgainLater,
                string other => throw new FormatException($"WS_SLOW_CONSUMER must be fail-send, close-1008 or close-1013, got '{other}'"),
            },
        };
        server.Validate();
        HostMode mode = Get("WS_MODE") switch
        {
            "echo" => HostMode.Echo,
            "broadcast" => HostMode.Broadcast,
            string other => throw new FormatException($"WS_MODE must be echo or broadcast, got '{other}'"),
        };
        return new HostSettings { Mode = mode, Server = server, ShowHelp = help };
    }

    /// <summary>The --help text.</summary>
    public static string HelpText()
    {
        var text = new System.Text.StringBuilder("Usage: Host [--echo | --broadcast] [options]\n\nSettings (environment variable, flag, default):\n");
        foreach (var row in Table)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {row.Env,-22} {row.Flag,-22} {row.Default,-10} {row.Meaning}\n");
        }
        return text.ToString();
    }
}
