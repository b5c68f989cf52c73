using System.Net.Security;
using System.Net.WebSockets;
using Host;

namespace Engine.Tests.HostApp;

/// <summary>
/// The Host runs the portable transport's socket completions inline on .NET's socket event threads (docs/resilience.md,
/// connection storm) and leaves the process default alone when it serves on a loop or when the environment says otherwise.
/// </summary>
public sealed class SocketCompletionsTests
{
    public static TheoryData<TransportKind, bool, string?, bool, bool> Decisions => new()
    {
        // transport, TLS, variable already set, inline, set by the Host
        { TransportKind.Sockets, false, null, true, true },
        { TransportKind.Epoll, true, null, true, true }, // TLS always runs on sockets
        { TransportKind.Epoll, false, null, false, false },
        { TransportKind.IoUring, false, null, false, false },
        { TransportKind.Sockets, false, "0", false, false }, // an explicit value wins
        { TransportKind.IoUring, false, "1", true, false },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void Inline_completions_are_asked_for_only_on_the_portable_transport_and_never_over_an_explicit_value(
        TransportKind transport, bool tls, string? existing, bool inline, bool set)
    {
        var options = new WebSocketServerOptions { Transport = transport, Tls = tls ? new SslServerAuthenticationOptions() : null };
        var environment = new Dictionary<string, string>();
        if (existing is not null)
        {
            environment[SocketCompletions.Variable] = existing;
        }

        bool result = SocketCompletions.Configure(options, name => environment.GetValueOrDefault(name), (name, value) => environment[name] = value);

        Assert.Equal(inline, result);
        Assert.Equal(set ? "1" : existing, environment.GetValueOrDefault(SocketCompletions.Variable));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("0", false)]
    public async Task On_sockets_the_Host_runs_completions_on_one_event_thread_per_core_unless_told_otherwise(string? variable, bool inline)
    {
        var environment = new Dictionary<string, string>();
        if (variable is not null)
        {
            environment[SocketCompletions.Variable] = variable;
        }
        using HostProcess host = await HostProcess.StartAsync(["--echo", "--port", "0", "--address", "127.0.0.1", "--transport", "sockets"],
            environment);
        Assert.Contains(inline ? "socket completions: inline" : "socket completions: thread pool", host.Output, StringComparison.Ordinal);

        using var client = new ClientWebSocket();
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{host.Port}/"), CancellationToken.None);
        await client.SendAsync("inline"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        (_, byte[] echoed) = await WebSocketMessages.ReceiveAsync(client);
        Assert.Equal("inline"u8.ToArray(), echoed);

        // What the runtime did with the setting, not only what the Host logged: .NET starts one socket event thread per
        // core when completions run inline, and one per 30 cores when it queues them for the thread pool.
        int expected = inline ? Environment.ProcessorCount : Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0));
        Assert.Equal(expected, SocketEventThreads(host.Pid));
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
    }

    private static int SocketEventThreads(int pid) =>
        Directory.EnumerateDirectories($"/proc/{pid}/task").Count(task => File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == ".NET Sockets");
}
