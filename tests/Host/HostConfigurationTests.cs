using Host;
using Microsoft.Extensions.Logging;

namespace Engine.Tests.HostApp;

/// <summary>Settings through Microsoft.Extensions.Configuration: appsettings.json, then WS_* variables, then flags; --help from the one table.</summary>
public sealed class HostConfigurationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("host-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Json(string text)
    {
        string path = Path.Combine(_directory, "settings.json");
        File.WriteAllText(path, text);
        return path;
    }

    private static HostSettings Parse(string[] args, Dictionary<string, string>? env = null) =>
        HostSettings.Parse(args, name => env is not null && env.TryGetValue(name, out string? value) ? value : null);

    [Fact]
    public void Json_then_environment_then_flags_each_win_over_the_one_before()
    {
        string path = Json("""
            {
              "Host": {
                "Port": 9001,
                "HeartbeatInterval": 1000,
                "MaxChannels": 5,
                "AuthQueryToken": true,
                "Mode": "echo",
                "LogFormat": "json",
                "LogLevel": "Warning",
                "Metrics": false
              }
            }
            """);
        HostSettings fromFile = Parse(["--config", path]);
        Assert.Equal(9001, fromFile.Server.Port);
        Assert.Equal(TimeSpan.FromSeconds(1), fromFile.Server.HeartbeatInterval);
        Assert.Equal(5, fromFile.App.MaxChannels);
        Assert.True(fromFile.App.AllowQueryToken); // JSON true arrives as "True"
        Assert.Equal(HostSettings.HostMode.Echo, fromFile.Mode);
        Assert.Equal(HostLogFormat.Json, fromFile.LogFormat);
        Assert.Equal(LogLevel.Warning, fromFile.LogLevel);
        Assert.False(fromFile.MetricsEnabled);

        HostSettings layered = Parse(["--port=9003", "--app"], new() { ["WS_CONFIG"] = path, ["WS_PORT"] = "9002", ["WS_MAX_CHANNELS"] = "6" });
        Assert.Equal(9003, layered.Server.Port);
        Assert.Equal(6, layered.App.MaxChannels);
        Assert.Equal(TimeSpan.FromSeconds(1), layered.Server.HeartbeatInterval);
        Assert.Equal(HostSettings.HostMode.App, layered.Mode);
    }

    [Fact]
    public void Defaults_come_from_the_table_and_a_missing_default_file_is_skipped()
    {
        HostSettings settings = Parse([]);
        foreach (var row in HostSettings.Table)
        {
            Assert.False(string.IsNullOrWhiteSpace(row.Meaning));
        }
        Assert.Equal(int.Parse(Array.Find(HostSettings.Table, row => row.Env == "WS_PORT").Default, System.Globalization.CultureInfo.InvariantCulture), settings.Server.Port);
        Assert.Equal(HostLogFormat.Plain, settings.LogFormat);
        Assert.Equal(LogLevel.Information, settings.LogLevel);
        Assert.True(settings.MetricsEnabled);
    }

    [Fact]
    public void Help_lists_every_setting_with_its_flag_key_and_default()
    {
        string help = HostSettings.HelpText();
        foreach (var row in HostSettings.Table)
        {
            string line = help.Split('\n').Single(line => line.TrimStart().StartsWith(row.Env + " ", StringComparison.Ordinal));
            Assert.Contains(HostConfiguration.Key(row.Env), line, StringComparison.Ordinal);
            Assert.Contains(row.Default.Length == 0 ? "(unset)" : row.Default, line, StringComparison.Ordinal);
            if (row.Flag.StartsWith("--", StringComparison.Ordinal))
            {
                Assert.Contains(row.Flag, line, StringComparison.Ordinal);
            }
        }
        Assert.True(Parse(["--help"]).ShowHelp);
        Assert.Equal("Host:HeartbeatInterval", HostConfiguration.Key("WS_HEARTBEAT_INTERVAL"));
    }

    [Fact]
    public void Typos_and_bad_values_are_errors_not_defaults()
    {
        Assert.Throws<FormatException>(() => Parse(["--prot", "1"]));
        Assert.Throws<FormatException>(() => Parse(["--port"]));
        Assert.Throws<FormatException>(() => Parse(["--auth-secret", "x"])); // env or file only
        Assert.Throws<FormatException>(() => Parse(["--config", Path.Combine(_directory, "missing.json")]));
        Assert.Throws<FormatException>(() => Parse(["--config", Json("""{"Host":{"Prot":1}}""")]));
        Assert.Throws<FormatException>(() => Parse(["--log-format", "xml"]));
        Assert.Throws<FormatException>(() => Parse(["--log-level", "loud"]));
        Assert.Throws<FormatException>(() => Parse(["--metrics", "maybe"]));
        Assert.Throws<InvalidDataException>(() => Parse(["--config", Json("{ not json")]));
    }
}
