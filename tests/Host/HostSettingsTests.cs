using Host;

namespace Engine.Tests.HostApp;

/// <summary>The Host's settings: app mode by default, the new WS_* variables, validation.</summary>
public sealed class HostSettingsTests
{
    private static HostSettings Parse(string[] args, Dictionary<string, string>? env = null) =>
        HostSettings.Parse(args, name => env is not null && env.TryGetValue(name, out string? value) ? value : null);

    [Fact]
    public void App_mode_is_the_default_and_echo_and_broadcast_stay_selectable()
    {
        Assert.Equal(HostSettings.HostMode.App, Parse([]).Mode);
        Assert.False(Parse([]).App.AuthRequired);
        Assert.Equal(HostSettings.HostMode.Echo, Parse(["--echo"]).Mode);
        Assert.Equal(HostSettings.HostMode.Broadcast, Parse(["--broadcast"]).Mode);
        Assert.Equal(HostSettings.HostMode.Echo, Parse([], new() { ["WS_MODE"] = "echo" }).Mode);
        Assert.Equal(HostSettings.HostMode.App, Parse(["--app"], new() { ["WS_MODE"] = "echo" }).Mode);
    }

    [Fact]
    public void Reads_the_app_settings_from_the_environment_and_flags()
    {
        string dir = Path.GetTempPath();
        HostSettings settings = Parse(["--max-channels", "7", "--auth-timeout", "1500"], new()
        {
            ["WS_AUTH_SECRET"] = AppServer.Secret,
            ["WS_AUTH_AUDIENCE"] = "chat",
            ["WS_AUTH_ISSUER"] = "https://issuer.example",
            ["WS_AUTH_QUERY_TOKEN"] = "true",
            ["WS_ALLOWED_ORIGINS"] = "https://a.example, https://b.example",
            ["WS_FILES_DIR"] = dir,
            ["WS_MAX_CHANNELS"] = "3",
        });
        AppOptions app = settings.App;
        Assert.True(app.AuthRequired);
        Assert.Equal("chat", app.AuthAudience);
        Assert.Equal("https://issuer.example", app.AuthIssuer);
        Assert.True(app.AllowQueryToken);
        Assert.Equal(["https://a.example", "https://b.example"], app.AllowedOrigins);
        Assert.Equal(dir, app.FilesDirectory);
        Assert.Equal(7, app.MaxChannels);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), app.AuthTimeout);
        Assert.Contains(HostSettings.Table, row => row.Env == "WS_FILES_DIR");
        Assert.Contains("WS_AUTH_SECRET", HostSettings.HelpText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_bad_app_settings()
    {
        Assert.Throws<ArgumentException>(() => Parse([], new() { ["WS_AUTH_SECRET"] = "short" }));
        Assert.Throws<ArgumentException>(() => Parse([], new() { ["WS_MAX_CHANNELS"] = "0" }));
        Assert.Throws<ArgumentException>(() => Parse([], new() { ["WS_FILES_DIR"] = "/no/such/dir" }));
        Assert.Throws<FormatException>(() => Parse([], new() { ["WS_AUTH_QUERY_TOKEN"] = "yes please" }));
        Assert.Throws<FormatException>(() => Parse([], new() { ["WS_MODE"] = "chat" }));
        // Echo mode does not need valid app settings.
        Assert.Equal(HostSettings.HostMode.Echo, Parse(["--echo"], new() { ["WS_AUTH_SECRET"] = "short" }).Mode);
    }

    [Fact]
    public void Reads_the_engine_limits_from_the_environment_and_flags()
    {
        HostSettings settings = Parse(["--max-connections", "15000"], new()
        {
            ["WS_MAX_FRAGMENTS"] = "512",
            ["WS_HEARTBEAT_INTERVAL"] = "1000",
            ["WS_PORT"] = "9100",
        });

        Assert.Equal(15000, settings.Server.MaxConnections);
        Assert.Equal(512, settings.Server.MaxFragmentsPerMessage);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Server.HeartbeatInterval);
        Assert.Equal(9100, settings.Server.Port);
        Assert.Equal(0, Parse([]).Server.MaxConnections);
        Assert.Throws<FormatException>(() => Parse(["--max-connections", "-1"]));
    }

    [Fact]
    public void Reads_the_deflate_settings()
    {
        Assert.False(Parse([]).Server.Compression.Enabled);
        HostSettings settings = Parse(["--deflate", "true", "--deflate-server-window-bits", "10"], new()
        {
            ["WS_DEFLATE_THRESHOLD"] = "512",
            ["WS_DEFLATE_CLIENT_WINDOW_BITS"] = "12",
            ["WS_DEFLATE_MEMORY_LEVEL"] = "4",
            ["WS_DEFLATE_LEVEL"] = "3",
            ["WS_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER"] = "false",
            ["WS_DEFLATE_CLIENT_NO_CONTEXT_TAKEOVER"] = "1",
            ["WS_DEFLATE_MAX_CONCURRENT"] = "5",
        });
        Assert.Equal(new CompressionOptions
        {
            Enabled = true,
            Threshold = 512,
            ServerMaxWindowBits = 10,
            ClientMaxWindowBits = 12,
            MemoryLevel = 4,
            Level = 3,
            ServerNoContextTakeover = false,
            ClientNoContextTakeover = true,
            MaxConcurrentCompressions = 5,
        }, settings.Server.Compression);
        Assert.Throws<ArgumentException>(() => Parse(["--deflate-server-window-bits", "16"]));
        Assert.Throws<FormatException>(() => Parse(["--deflate", "maybe"]));
    }

    [Fact]
    public void Reads_the_backplane_url_and_rejects_other_schemes()
    {
        Assert.Null(Parse([]).Backplane);
        Assert.Equal(new Uri("redis://10.0.0.5:6380"), Parse([], new() { ["WS_BACKPLANE"] = "redis://10.0.0.5:6380" }).Backplane);
        Assert.Equal(new Uri("redis://cache.internal"), Parse(["--backplane", "redis://cache.internal"]).Backplane);
        Assert.Equal(new Uri("nats://nats.internal:4222"), Parse(["--backplane", "nats://nats.internal:4222"]).Backplane);
        Assert.Throws<FormatException>(() => Parse([], new() { ["WS_BACKPLANE"] = "kafka://k:9092" }));
        Assert.Throws<FormatException>(() => Parse([], new() { ["WS_BACKPLANE"] = "localhost:6379" }));
    }

    [Fact]
    public void Reads_the_history_limits_which_need_a_backplane()
    {
        Assert.Null(Parse([], new() { ["WS_BACKPLANE"] = "redis://r" }).History);
        Assert.Equal(new HistorySettings(100, TimeSpan.Zero), Parse(["--backplane", "redis://r", "--history-size", "100"]).History);
        Assert.Equal(new HistorySettings(100, TimeSpan.Zero), Parse(["--backplane", "nats://n", "--history-size", "100"]).History);
        Assert.Equal(new HistorySettings(0, TimeSpan.FromSeconds(30)),
            Parse([], new() { ["WS_BACKPLANE"] = "redis://r", ["WS_HISTORY_TTL"] = "30000" }).History);
        // The history is kept in the broker: without one it is refused at start-up, not silently dropped.
        Assert.Throws<FormatException>(() => Parse(["--history-size", "10"]));
        Assert.Throws<FormatException>(() => Parse(["--backplane", "redis://r", "--history-size", "-1"]));
    }
}
