using System.Globalization;
using System.Net;
using Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Host;

/// <summary>What the Host runs: read from appsettings.json, then <c>WS_*</c> environment variables, then command-line flags (later wins).</summary>
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

    /// <summary>How console log lines look (<c>WS_LOG_FORMAT</c>).</summary>
    public HostLogFormat LogFormat { get; init; } = HostLogFormat.Plain;

    /// <summary>The lowest level logged (<c>WS_LOG_LEVEL</c>).</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>The broker that carries channels across Host nodes (<c>redis://host:port</c>); null runs a single node.</summary>
    public Uri? Backplane { get; init; }

    /// <summary>Per-channel history kept in the broker (<c>WS_HISTORY_SIZE</c>, <c>WS_HISTORY_TTL</c>); null keeps none.</summary>
    public HistorySettings? History { get; init; }

    /// <summary>Whether <c>GET /metrics</c> answers (<c>WS_METRICS</c>).</summary>
    public bool MetricsEnabled { get; init; } = true;

    /// <summary>
    /// Every setting, the single source of truth: environment name, flag, default, meaning (printed by <c>--help</c>,
    /// mirrored in docs/configuration.md). The appsettings.json key is derived from the environment name
    /// (<see cref="HostConfiguration.Key"/>: <c>WS_HEARTBEAT_INTERVAL</c> is <c>Host:HeartbeatInterval</c>); a flag
    /// that does not start with <c>--</c> means the setting has no flag. To add a setting, add a row and read it below.
    /// </summary>
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
        ("WS_TRANSPORT", "--transport", "auto", "auto | io_uring | epoll | sockets (auto: io_uring where the kernel allows it, else epoll on Linux x86-64, "
            + "else .NET sockets; TLS always runs on sockets)"),
        ("WS_SHUTDOWN_TIMEOUT", "--shutdown-timeout", "10000", "ms to wait for close replies on SIGTERM"),
        ("WS_MODE", "--mode", "app", "app: the messaging protocol (docs/protocol.md); echo: echo every message; "
            + "broadcast: send each message to all other clients (shortcuts: --app, --echo, --broadcast)"),
        ("WS_AUTH_SECRET", "(env only)", "", "HS256 key for JWT auth (>= 32 bytes); unset runs open, without auth. No flag: command lines are visible to every user (ps)"),
        ("WS_AUTH_AUDIENCE", "--auth-audience", "", "required JWT aud; empty accepts any"),
        ("WS_AUTH_ISSUER", "--auth-issuer", "", "required JWT iss; empty accepts any"),
        ("WS_AUTH_TIMEOUT", "--auth-timeout", "5000", "ms a client has to authenticate before close 4001"),
        ("WS_AUTH_QUERY_TOKEN", "--auth-query-token", "false", "accept ?token= in the URL (URLs end up in logs)"),
        ("WS_ALLOWED_ORIGINS", "--allowed-origins", "", "comma-separated Origins allowed to upgrade (403 otherwise); empty allows all"),
        ("WS_MAX_CHANNELS", "--max-channels", "100", "channels one connection may join"),
        ("WS_FILES_DIR", "--files-dir", "", "directory request-file serves from; empty disables file transfer"),
        ("WS_TLS_CERT", "--tls-cert", "", "PEM certificate (chain) file; with WS_TLS_KEY the port serves wss:// and https:// only (TLS 1.2, 1.3)"),
        ("WS_TLS_KEY", "--tls-key", "", "PEM private key file for WS_TLS_CERT"),
        ("WS_BACKPLANE", "--backplane", "", "redis://host:port or nats://host:port: channels span every Host on that broker; empty runs a single node"),
        ("WS_HISTORY_SIZE", "--history-size", "0", "with WS_BACKPLANE: keep each channel's last N messages in the broker; "
            + "messages carry offsets and clients resume after a reconnect (0 = no count limit)"),
        ("WS_HISTORY_TTL", "--history-ttl", "0", "with WS_BACKPLANE: keep each channel's messages this many ms (0 = no age limit); history is on when either is set"),
        ("WS_LOG_FORMAT", "--log-format", "plain", "console logs: plain (one line each), json (one JSON object per line) or systemd (journald priority prefixes)"),
        ("WS_LOG_LEVEL", "--log-level", "information", "lowest level logged: trace, debug, information, warning, error, critical, none"),
        ("WS_METRICS", "--metrics", "true", "serve Prometheus metrics at GET /metrics on the WebSocket port"),
        ("WS_CONFIG", "--config", "appsettings.json", "JSON settings file (section Host, keys as in the key column); the default is skipped when missing, a given one must exist"),
        ("WS_DEFLATE", "--deflate", "false", "accept permessage-deflate (RFC 7692) offers"),
        ("WS_DEFLATE_THRESHOLD", "--deflate-threshold", "128", "messages shorter than this many bytes are sent uncompressed"),
        ("WS_DEFLATE_SERVER_WINDOW_BITS", "--deflate-server-window-bits", "15", "LZ77 window we compress with, 8-15 bits"),
        ("WS_DEFLATE_CLIENT_WINDOW_BITS", "--deflate-client-window-bits", "15", "window asked of clients that offer client_max_window_bits, 8-15"),
        ("WS_DEFLATE_MEMORY_LEVEL", "--deflate-memory-level", "8", "zlib memory level of our deflaters, 1-9"),
        ("WS_DEFLATE_LEVEL", "--deflate-level", "6", "zlib compression level, 1 (fastest) to 9"),
        ("WS_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER", "--deflate-server-no-context-takeover", "true", "answer server_no_context_takeover (pooled deflaters, compress-once broadcast)"),
        ("WS_DEFLATE_CLIENT_NO_CONTEXT_TAKEOVER", "--deflate-client-no-context-takeover", "false",
            "answer client_no_context_takeover (pooled inflaters: no zlib state per idle connection)"),
        ("WS_DEFLATE_MAX_CONCURRENT", "--deflate-max-concurrent", "0", "compressions at once across the server (plain beyond); 0 = 2 per core"),
    ];

    /// <summary>
    /// Reads settings through Microsoft.Extensions.Configuration, lowest precedence first: the JSON file
    /// (<c>WS_CONFIG</c> / <c>--config</c>, default <c>appsettings.json</c> in the working directory, section
    /// <c>Host</c>), the <c>WS_*</c> variables from <paramref name="environment"/>, then <paramref name="args"/>.
    /// Throws <see cref="FormatException"/> on unknown options or bad values, <see cref="ArgumentException"/> on invalid settings.
    /// </summary>
    public static HostSettings Parse(string[] args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        return FromConfiguration(HostConfiguration.Build(args, environment, out bool help), help);
    }

    /// <summary>Reads settings from <paramref name="configuration"/> (keys <c>Host:Port</c>, <c>Host:HeartbeatInterval</c>... see <see cref="HostConfiguration.Key"/>).</summary>
    public static HostSettings FromConfiguration(IConfiguration configuration, bool help = false)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string Get(string env) => configuration[HostConfiguration.Key(env)] is { } value ? value : Array.Find(Table, row => row.Env == env).Default;
        long Number(string env) => long.TryParse(Get(env), NumberStyles.None, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new FormatException($"{env} must be a non-negative integer, got '{Get(env)}'");
        TimeSpan Ms(string env) => TimeSpan.FromMilliseconds(Number(env));
        bool Flag(string env) => Get(env).ToUpperInvariant() switch
        {
            "TRUE" or "1" => true,
            "FALSE" or "0" => false,
            _ => throw new FormatException($"{env} must be true or false, got '{Get(env)}'"),
        };

        var server = new WebSocketServerOptions
        {
            Port = (int)Number("WS_PORT"),
            Address = IPAddress.TryParse(Get("WS_ADDRESS"), out IPAddress? address)
                ? address
                : throw new FormatException($"WS_ADDRESS is not an IP address: '{Get("WS_ADDRESS")}'"),
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
            Transport = Get("WS_TRANSPORT") switch
            {
                "auto" => TransportKind.Auto,
                "io_uring" => TransportKind.IoUring,
                "epoll" => TransportKind.Epoll,
                "sockets" => TransportKind.Sockets,
                string other => throw new FormatException($"WS_TRANSPORT must be auto, io_uring, epoll or sockets, got '{other}'"),
            },
            Compression = new CompressionOptions
            {
                Enabled = Flag("WS_DEFLATE"),
                Threshold = (int)Math.Min(Number("WS_DEFLATE_THRESHOLD"), int.MaxValue),
                ServerMaxWindowBits = (int)Math.Min(Number("WS_DEFLATE_SERVER_WINDOW_BITS"), int.MaxValue),
                ClientMaxWindowBits = (int)Math.Min(Number("WS_DEFLATE_CLIENT_WINDOW_BITS"), int.MaxValue),
                MemoryLevel = (int)Math.Min(Number("WS_DEFLATE_MEMORY_LEVEL"), int.MaxValue),
                Level = (int)Math.Min(Number("WS_DEFLATE_LEVEL"), int.MaxValue),
                ServerNoContextTakeover = Flag("WS_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER"),
                ClientNoContextTakeover = Flag("WS_DEFLATE_CLIENT_NO_CONTEXT_TAKEOVER"),
                MaxConcurrentCompressions = Number("WS_DEFLATE_MAX_CONCURRENT") is > 0 and var cap
                    ? (int)Math.Min(cap, int.MaxValue)
                    : new CompressionOptions().MaxConcurrentCompressions,
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
            AllowQueryToken = Flag("WS_AUTH_QUERY_TOKEN"),
            AllowedOrigins = Get("WS_ALLOWED_ORIGINS").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            MaxChannels = (int)Math.Min(Number("WS_MAX_CHANNELS"), int.MaxValue),
            FilesDirectory = Optional("WS_FILES_DIR"),
        };
        HostMode mode = Get("WS_MODE").ToLowerInvariant() switch
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
        HostLogFormat logFormat = Get("WS_LOG_FORMAT").ToLowerInvariant() switch
        {
            "plain" => HostLogFormat.Plain,
            "json" => HostLogFormat.Json,
            "systemd" => HostLogFormat.Systemd,
            string other => throw new FormatException($"WS_LOG_FORMAT must be plain, json or systemd, got '{other}'"),
        };
        LogLevel logLevel = Get("WS_LOG_LEVEL").ToUpperInvariant() switch
        {
            "TRACE" => LogLevel.Trace,
            "DEBUG" => LogLevel.Debug,
            "INFORMATION" or "INFO" => LogLevel.Information,
            "WARNING" or "WARN" => LogLevel.Warning,
            "ERROR" => LogLevel.Error,
            "CRITICAL" => LogLevel.Critical,
            "NONE" => LogLevel.None,
            _ => throw new FormatException($"WS_LOG_LEVEL must be trace, debug, information, warning, error, critical or none, got '{Get("WS_LOG_LEVEL")}'"),
        };
        Uri? backplane = null;
        if (Optional("WS_BACKPLANE") is { } broker)
        {
            backplane = Uri.TryCreate(broker, UriKind.Absolute, out Uri? uri) && uri.Scheme is "redis" or "nats" && uri.Host.Length > 0
                ? uri
                : throw new FormatException($"WS_BACKPLANE must be redis://host:port or nats://host:port, got '{broker}'");
        }
        HistorySettings? history = null;
        // Number() refuses signs, so both are >= 0 here.
        long historySize = Number("WS_HISTORY_SIZE");
        long historyTtl = Number("WS_HISTORY_TTL");
        if (historySize > int.MaxValue)
        {
            throw new FormatException("WS_HISTORY_SIZE is too large");
        }
        if (historySize > 0 || historyTtl > 0)
        {
            history = backplane is not null
                ? new HistorySettings((int)historySize, TimeSpan.FromMilliseconds(historyTtl))
                : throw new FormatException("WS_HISTORY_SIZE and WS_HISTORY_TTL need WS_BACKPLANE: the history is kept in the broker");
        }
        return new HostSettings
        {
            Backplane = backplane,
            History = history,
            Mode = mode,
            Server = server,
            App = app,
            ShowHelp = help,
            LogFormat = logFormat,
            LogLevel = logLevel,
            MetricsEnabled = Flag("WS_METRICS"),
        };
    }

    /// <summary>The --help text: every row of <see cref="Table"/> with its appsettings.json key and default.</summary>
    public static string HelpText()
    {
        var text = new System.Text.StringBuilder("""
            Usage: Host [--app | --echo | --broadcast] [--flag value | --flag=value ...]

            Settings are read from appsettings.json (section "Host"), then WS_* environment variables, then flags:
            a later source wins. Durations are in milliseconds.

            """);
        text.Append(CultureInfo.InvariantCulture, $"  {"environment",-22} {"flag",-22} {"appsettings.json key",-28} {"default",-17} meaning\n");
        foreach ((string Env, string Flag, string Default, string Meaning) row in Table)
        {
            string value = row.Default.Length == 0 ? "(unset)" : row.Default;
            string flag = row.Flag.StartsWith("--", StringComparison.Ordinal) ? row.Flag : "(none)";
            text.Append(CultureInfo.InvariantCulture, $"  {row.Env,-22} {flag,-22} {HostConfiguration.Key(row.Env),-28} {value,-17} {row.Meaning}\n");
        }
        return text.ToString();
    }
}
