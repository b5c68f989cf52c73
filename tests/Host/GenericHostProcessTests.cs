using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using Host;

namespace Engine.Tests.HostApp;

/// <summary>
/// The Host process on the Generic Host keeps the command-line contract of its own loop: --help and bad settings exit
/// before any host starts (0 with the help text, 2 with one error line), an address it cannot bind is one critical line
/// and exit 1, Ctrl-C stops it as SIGTERM does (1001 to every client, exit 0), the three configuration layers reach the
/// process, and the framework adds no lines of its own.
/// </summary>
public sealed partial class GenericHostProcessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("generic-host-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string[], int, string> CommandLines => new()
    {
        { ["--help"], 0, "Usage: Host" },
        { ["--prot", "1"], 2, "error: unknown option '--prot' (see --help)" },
        { ["--port"], 2, "error: option '--port' needs a value (see --help)" },
        { ["--log-level", "loud"], 2, "error: WS_LOG_LEVEL must be" },
        { ["--port", "70000"], 2, "error: " },
        { ["--config", "bad.json"], 2, "error: " },
    };

    [Theory]
    [MemberData(nameof(CommandLines))]
    public async Task Help_and_bad_settings_end_the_process_before_any_host_starts(string[] args, int exitCode, string expected)
    {
        File.WriteAllText(Path.Combine(_directory, "bad.json"), "{ not json");
        (int code, string stdout, string stderr) = await RunToEndAsync(args);

        Assert.Equal(exitCode, code);
        if (exitCode == 0)
        {
            Assert.Equal(HostSettings.HelpText(), stdout);
            Assert.Empty(stderr);
        }
        else
        {
            // One line on stderr, nothing logged: no logger exists yet.
            Assert.StartsWith(expected, stderr, StringComparison.Ordinal);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Empty(stdout);
        }
    }

    [Fact]
    public async Task An_address_it_cannot_bind_is_one_critical_line_and_exit_code_1()
    {
        // 192.0.2.1 (TEST-NET-1, RFC 5737) is never an address of this machine: bind fails with EADDRNOTAVAIL, and no
        // packet is ever sent to it.
        (int code, string stdout, _) = await RunToEndAsync(["--echo", "--port", "0", "--address", "192.0.2.1"]);

        Assert.Equal(1, code);
        Assert.Contains("crit: Host[4] cannot listen on 192.0.2.1 port 0", stdout, StringComparison.Ordinal);
        // The host's own "Hosting failed to start" error (with the stack trace) would say the same thing a second time.
        Assert.DoesNotContain("Hosting failed", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on ws://", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_C_closes_every_client_with_1001_and_exits_0_with_settings_from_all_three_layers()
    {
        // The file says port 1 and echo mode without metrics; WS_PORT=0 (a free port) wins over the file's port, the flags
        // add the address. The port, the listening line and /metrics show which layer won.
        File.WriteAllText(Path.Combine(_directory, "appsettings.json"), """{ "Host": { "Port": 1, "Mode": "echo", "Metrics": false } }""");
        using HostProcess host = await HostProcess.StartAsync(["--address", "127.0.0.1", "--heartbeat-interval", "0"],
            new Dictionary<string, string> { ["WS_PORT"] = "0" }, workingDirectory: _directory);
        Assert.NotEqual(1, host.Port);
        Assert.Contains("(echo mode, pid ", host.Output, StringComparison.Ordinal);
        Assert.Contains("metrics: off)", host.Output, StringComparison.Ordinal);
        using (var http = new HttpClient())
        {
            using HttpResponseMessage metrics = await http.GetAsync(new Uri($"http://127.0.0.1:{host.Port}/metrics"));
            Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
        }

        using var client = new ClientWebSocket();
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/"), CancellationToken.None);
        await client.SendAsync("before the stop"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        (_, byte[] echoed) = await WebSocketMessages.ReceiveAsync(client);
        Assert.Equal("before the stop"u8.ToArray(), echoed);

        Assert.Equal(0, kill(host.Pid, Sigint));
        var buffer = new byte[64];
        // Generous for a loaded 2-core box: the close goes out as soon as the signal is handled (well under a second).
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        WebSocketReceiveResult result = await client.ReceiveAsync(buffer, deadline.Token);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);

        // The client answered the close, so the Host is done long before its 10 s shutdown timeout; 15 s is the bound.
        Assert.True(await host.WaitForExitAsync(TimeSpan.FromSeconds(15)), "no exit within 15 s of SIGINT");
        Assert.Equal(0, host.ExitCode);
        string output = host.Output;
        Assert.Contains("info: Host[2] stopping: closing 1 connections with 1001", output, StringComparison.Ordinal);
        Assert.Contains("info: Host[5] stopped (echoed 1 messages", output, StringComparison.Ordinal);
        // The Generic Host's console lifetime banner is off: the Host's own lines say when it listens and stops.
        Assert.DoesNotContain("Application started", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.Hosting.Lifetime", output, StringComparison.Ordinal);
        Assert.True(output.IndexOf("Host[2] stopping", StringComparison.Ordinal) < output.IndexOf("Host[5] stopped", StringComparison.Ordinal));
    }

    private const int Sigint = 2;

    /// <summary>Runs <c>dotnet Host.dll</c> in the test's directory until it exits (it should, at once).</summary>
    private async Task<(int Code, string Stdout, string Stderr)> RunToEndAsync(string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        info.ArgumentList.Add(HostProcess.HostDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (string name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith("WS_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start the Host");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        // A JIT start on a loaded 2-core box takes a few seconds; none of these runs listens, so 30 s means it hung.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
