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
        /// <summary>The application protocol: auth, channels, file transfer (docs/protocol.md).</summary>
        App,
        /// <summary>Echo every message (conformance, benchmarks).</summary>
        Echo,
        /// <summary>Send every message to all other clients (fan-out benchmark).</summary>
        Broadcast,
    }

    /// <summary>The handler to run.</summary>
    public HostMode Mode { get; init; } = HostMode.App;

    /// <summary>The application protocol's settings (app mode).</summary>
    public AppOptions App { get; init; } = new();

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
        ("WS_MAX_CONNECTIONS", "--max-connections", "0", "open WebSocket connections allowed; beyond it upgrades get 503; 0 = no limit"),
        ("WS_MAX_FRAGMENTS", "--max-fragments", "131072", "frames one message may arrive in (1009 beyond)"),
        ("WS_SLOW_CONSUMER", "--slow-consumer", "fail-send", "fail-send | close-1008 | close-1013"),
        ("WS_SHUTDOWN_TIMEOUT", "--shutdown-timeout", "10000", "ms to wait for close replies on SIGTERM"),
        ("WS_MODE", "--app / --echo / --broadcast", "app", "app: the messaging protocol (docs/protocol.md); echo: echo every message; broadcast: send each message to all other clients"),
        ("WS_AUTH_SECRET", "(env only)", "", "HS256 key for JWT auth (>= 32 bytes); unset runs open, without auth"),
        ("WS_AUTH_AUDIENCE", "--auth-audience", "", "required JWT aud; empty accepts any"),
        ("WS_AUTH_ISSUER", "--auth-issuer", "", "required JWT iss; empty accepts any"),
        ("WS_AUTH_TIMEOUT", "--auth-timeout", "5000", "ms a client has to authenticate before close 4001"),
        ("WS_AUTH_QUERY_TOKEN", "--auth-query-token", "false", "accept ?token= in the URL (URLs end up in logs)"),
        ("WS_ALLOWED_ORIGINS", "--allowed-origins", "", "comma-separated Origins allowed to upgrade (403 otherwise); empty allows all"),
        ("WS_MAX_CHANNELS", "--max-channels", "100", "channels one connection may join"),
        ("WS_FILES_DIR", "--files-dir", "", "directory request-file serves from; empty disables file transfer"),
        ("WS_TLS_CERT", "--tls-cert", "", "PEM certificate (chain) file; with WS_TLS_KEY the port serves wss:// and https:// only (TLS 1.2, 1.3)"),
        ("WS_TLS_KEY", "--tls-key", "", "PEM private key file for WS_TLS_CERT"),
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
                case "--app":
                    values["WS_MODE"] = "app";
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
            MaxConnections = (int)Math.Min(Number("WS_MAX_CONNECTIONS"), int.MaxValue),
            MaxFragmentsPerMessage = (int)Math.Min(Number("WS_MAX_FRAGMENTS"), int.MaxValue),
            ShutdownTimeout = Ms("WS_SHUTDOWN_TIMEOUT"),
            SlowConsumerPolicy = Get("WS_SLOW_CONSUMER") switch
            {
                "fail-send" => SlowConsumerPolicy.FailSend,
                "close-1008" => SlowConsumerPolicy.ClosePolicyViolation,
                "close-1013" => SlowConsumerPolicy.CloseTryAgainLater,
                string other => throw new FormatException($"WS_SLOW_CONSUMER must be fail-send, close-1008 or close-1013, got '{other}'"),
            },
        };
        string? Optional(string env) => Get(env) is { Length: > 0 } v ? v : null;
        if (Optional("WS_TLS_CERT") is { } certificate && Optional("WS_TLS_KEY") is { } key)
        {
            server = server with { Tls = TlsCertificate.Load(certificate, key) };
        }
        else if (Optional("WS_TLS_CERT") is not null || Optional("WS_TLS_KEY") is not null)
        {
            throw new FormatException("WS_TLS_CERT and WS_TLS_KEY must be set together");
        }
        server.Validate();
        var app = new AppOptions
        {
            AuthSecret = Optional("WS_AUTH_SECRET") is { } secret ? System.Text.Encoding.UTF8.GetBytes(secret) : null,
            AuthAudience = Optional("WS_AUTH_AUDIENCE"),
            AuthIssuer = Optional("WS_AUTH_ISSUER"),
            AuthTimeout = Ms("WS_AUTH_TIMEOUT"),
            AllowQueryToken = Get("WS_AUTH_QUERY_TOKEN") switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                string other => throw new FormatException($"WS_AUTH_QUERY_TOKEN must be true or false, got '{other}'"),
            },
            AllowedOrigins = Get("WS_ALLOWED_ORIGINS").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            MaxChannels = (int)Math.Min(Number("WS_MAX_CHANNELS"), int.MaxValue),
            FilesDirectory = Optional("WS_FILES_DIR"),
        };
        HostMode mode = Get("WS_MODE") switch
        {
            "app" => HostMode.App,
            "echo" => HostMode.Echo,
            "broadcast" => HostMode.Broadcast,
            string other => throw new FormatException($"WS_MODE must be app, echo or broadcast, got '{other}'"),
        };
        if (mode == HostMode.App)
        {
            app.Validate();
        }
        return new HostSettings { Mode = mode, Server = server, App = app, ShowHelp = help };
    }

    /// <summary>The --help text.</summary>
    public static string HelpText()
    {
        var text = new System.Text.StringBuilder("Usage: Host [--app | --echo | --broadcast] [options]\n\nSettings (environment variable, flag, default):\n");
        foreach (var row in Table)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {row.Env,-22} {row.Flag,-30} {row.Default,-10} {row.Meaning}\n");
        }
        return text.ToString();
    }
}
