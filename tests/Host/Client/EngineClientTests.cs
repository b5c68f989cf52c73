using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Engine.Client;
using Engine.Tests.HostApp;
using Host;

namespace Engine.Tests.ClientTests;

/// <summary>The C# client (src/Client) against the Host's app handler in-process: auth, channels, files, restart, heartbeat.</summary>
[Collection(HostAppCollection.Name)]
public sealed class EngineClientTests
{
    private static readonly TimeSpan Wait = TestTimeouts.Hang; // every wait here is for something that must happen

    [Fact]
    public async Task Two_clients_authenticate_subscribe_and_publish_to_each_other()
    {
        await using var server = await AppServer.StartAsync(AppServer.WithAuth());
        await using var alice = new EngineClient(Options(server, AppServer.Token("alice")));
        await using var bob = new EngineClient(Options(server, AppServer.Token("bob")));
        var toAlice = Inbox(alice);
        var toBob = Inbox(bob);
        var binary = new TaskCompletionSource<ChannelBinary>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.BinaryReceived += message => binary.TrySetResult(message);

        await alice.StartAsync().WaitAsync(Wait);
        await bob.StartAsync().WaitAsync(Wait);
        Assert.Equal("alice", alice.User);
        Assert.Equal(EngineClientState.Open, alice.State);
        await SubscribedAsync(alice, "team");
        await SubscribedAsync(bob, "team");

        await alice.PublishJsonAsync("team", """{"text":"hi bob","n":1.50}""");
        ChannelMessage atBob = await toBob.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(("team", "alice", """{"text":"hi bob","n":1.50}"""), (atBob.Channel, atBob.From, atBob.Content.GetRawText()));
        await bob.PublishAsync("team", "hi alice");
        ChannelMessage atAlice = await toAlice.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(("bob", "hi alice"), (atAlice.From, atAlice.Content.GetString()));

        await alice.PublishBinaryAsync("team", new byte[] { 0xAA, 0xBB, 0xCC });
        ChannelBinary received = await binary.Task.WaitAsync(Wait);
        Assert.Equal(("team", "alice"), (received.Channel, received.From));
        Assert.Equal(new byte[] { 0xAA, 0xBB, 0xCC }, received.Payload);
        await alice.PingAsync().WaitAsync(Wait);
    }

    [Fact]
    public async Task A_file_request_returns_the_file_with_progress()
    {
        string directory = Directory.CreateTempSubdirectory("engine-client-files-").FullName;
        try
        {
            byte[] content = new byte[200 * 1024];
            Random.Shared.NextBytes(content);
            await File.WriteAllBytesAsync(Path.Combine(directory, "data.bin"), content);
            await using var server = await AppServer.StartAsync(new AppOptions { FilesDirectory = directory });
            await using var client = new EngineClient(Options(server, token: null));
            await client.StartAsync().WaitAsync(Wait);
            var reports = new ConcurrentQueue<(long, long)>();
            byte[] data = await client.RequestFileAsync("data.bin", new SyncProgress(reports.Enqueue)).WaitAsync(Wait);
            Assert.Equal(content, data);
            Assert.True(reports.Count >= 4, $"{reports.Count} progress reports");
            Assert.Equal((content.Length, content.Length), reports.Last());
            var missing = await Assert.ThrowsAsync<EngineClientException>(() => client.RequestFileAsync("nope.bin").WaitAsync(Wait));
            Assert.Equal((EngineClientErrorKind.File, "file not found"), (missing.Kind, missing.Message));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task After_a_server_restart_both_clients_reconnect_and_are_resubscribed()
    {
        AppServer server = await AppServer.StartAsync(AppServer.WithAuth());
        int port = server.Test.Port;
        var options = Options(server, AppServer.Token("alice")) with { BaseDelay = TimeSpan.FromMilliseconds(100) };
        await using var alice = new EngineClient(options);
        await using var bob = new EngineClient(options with { Token = AppServer.Token("bob") });
        var toBob = Inbox(bob);
        var reconnecting = new ConcurrentQueue<(int, TimeSpan)>();
        var closes = new ConcurrentQueue<int>();
        bob.Reconnecting += (attempt, delay) => reconnecting.Enqueue((attempt, delay));
        bob.Closed += (code, _) => closes.Enqueue(code);
        var reopened = new SemaphoreSlim(0);
        await alice.StartAsync().WaitAsync(Wait);
        await bob.StartAsync().WaitAsync(Wait);
        alice.Opened += () => reopened.Release();
        bob.Opened += () => reopened.Release();
        await SubscribedAsync(bob, "team");

        await server.DisposeAsync(); // graceful: 1001 to both
        await WaitUntilAsync(() => bob.State == EngineClientState.Reconnecting || bob.State == EngineClientState.Connecting);
        await alice.PublishAsync("team", "queued while offline"); // queued, flushed after the reconnect
        Assert.Equal(1, alice.Queued);
        server = await AppServer.StartAsync(AppServer.WithAuth(), o => o with { Port = port });
        try
        {
            Assert.True(await reopened.WaitAsync(Wait) && await reopened.WaitAsync(Wait), "both clients reopen");
            Assert.Contains(1001, closes);
            // The backoff the client chose (its setting), not a measured time.
            Assert.True(reconnecting.TryPeek(out var first) && first.Item1 == 1 && first.Item2 <= TimeSpan.FromMilliseconds(100));
            Assert.Equal(["team"], bob.Channels);
            Assert.Equal(0, alice.Queued);
            // Re-subscribed: the server knows bob is in team again, and a message published now reaches him.
            await WaitUntilAsync(() => server.Server.PubSub.ChannelCount == 1);
            await alice.PublishAsync("team", "after restart");
            ChannelMessage message = await ReadUntilAsync(toBob, m => m.Content.GetString() == "after restart");
            Assert.Equal("alice", message.From);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_server_that_stops_answering_pings_is_closed_with_4000_and_reconnected()
    {
        var silent = new SilentHandler();
        await using var server = await TestServer.StartAsync(silent);
        var options = new EngineClientOptions
        {
            Uri = server.Uri,
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(300),
            BaseDelay = TimeSpan.FromMilliseconds(50),
        };
        await using var client = new EngineClient(options);
        var closed = new TaskCompletionSource<(int, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Closed += (code, reason) => closed.TrySetResult((code, reason));
        client.Reconnecting += (_, _) => reconnecting.TrySetResult();
        await client.StartAsync().WaitAsync(Wait);
        Assert.Equal((4000, "Heartbeat timeout"), await closed.Task.WaitAsync(Wait));
        await reconnecting.Task.WaitAsync(Wait);
        await WaitUntilAsync(() => silent.Opened >= 2); // it came back
        Assert.True(silent.Pings >= 1, "the client pinged");
    }

    [Fact]
    public async Task Unauthorized_is_final_no_reconnection()
    {
        await using var server = await AppServer.StartAsync(AppServer.WithAuth());
        await using var client = new EngineClient(Options(server, "not.a.jwt"));
        int reconnecting = 0;
        client.Reconnecting += (_, _) => Interlocked.Increment(ref reconnecting);
        var error = await Assert.ThrowsAsync<EngineClientException>(() => client.StartAsync().WaitAsync(Wait));
        Assert.Equal(EngineClientErrorKind.Unauthorized, error.Kind);
        Assert.Equal(EngineClientState.Closed, client.State);
        // A window for something that must not happen (a reconnect after 401): load can only let it see less, never
        // fail it. The client raises Reconnecting as it decides, before any backoff, so a wrong decision shows at once.
        await Task.Delay(300);
        Assert.Equal(0, reconnecting);
    }

    [Fact]
    public async Task The_queue_is_bounded_while_disconnected()
    {
        using var unused = new Socket(SocketType.Stream, ProtocolType.Tcp);
        unused.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, not listening: connections are refused
        var options = new EngineClientOptions { Uri = new Uri($"ws://127.0.0.1:{((IPEndPoint)unused.LocalEndPoint!).Port}/"), MaxQueue = 2, MaxRetries = 100 };
        await using var client = new EngineClient(options);
        var errors = new ConcurrentQueue<EngineClientErrorKind>();
        client.Error += e => errors.Enqueue(e.Kind);
        _ = client.StartAsync();
        await client.PublishAsync("team", "1");
        await client.PublishAsync("team", "2");
        var full = await Assert.ThrowsAsync<EngineClientException>(() => client.PublishAsync("team", "3"));
        Assert.Equal(EngineClientErrorKind.QueueFull, full.Kind);
        Assert.Contains(EngineClientErrorKind.QueueFull, errors);
        Assert.Equal(2, client.Queued);
        await client.CloseAsync();
        var closed = await Assert.ThrowsAsync<EngineClientException>(() => client.PublishAsync("team", "4"));
        Assert.Equal(EngineClientErrorKind.NotConnected, closed.Kind);
    }

    [Fact]
    public void Backoff_doubles_from_one_second_up_to_thirty_with_jitter_in_the_upper_half()
    {
        var options = new EngineClientOptions { Uri = new Uri("ws://localhost/") };
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Backoff(0, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(1000), options.Backoff(0, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(4000), options.Backoff(2, 1));
        Assert.Equal(TimeSpan.FromSeconds(30), options.Backoff(5, 1));
        Assert.Equal(TimeSpan.FromSeconds(15), options.Backoff(50, 0));
    }

    private static EngineClientOptions Options(AppServer server, string? token) => new()
    {
        Uri = server.Uri,
        Token = token,
        HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        HeartbeatTimeout = TimeSpan.FromSeconds(5),
    };

    private static System.Threading.Channels.Channel<ChannelMessage> Inbox(EngineClient client)
    {
        var inbox = System.Threading.Channels.Channel.CreateUnbounded<ChannelMessage>();
        client.MessageReceived += message => inbox.Writer.TryWrite(message);
        return inbox;
    }

    private static async Task SubscribedAsync(EngineClient client, string channel)
    {
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ServerMessage += message =>
        {
            if (message.GetProperty("type").GetString() == "subscribed" && message.GetProperty("channel").GetString() == channel)
            {
                subscribed.TrySetResult();
            }
        };
        await client.SubscribeAsync(channel);
        await subscribed.Task.WaitAsync(Wait);
    }

    private static async Task<ChannelMessage> ReadUntilAsync(System.Threading.Channels.Channel<ChannelMessage> inbox, Func<ChannelMessage, bool> match)
    {
        using var deadline = new CancellationTokenSource(Wait);
        while (true)
        {
            ChannelMessage message = await inbox.Reader.ReadAsync(deadline.Token);
            if (match(message))
            {
                return message;
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    private sealed class SyncProgress(Action<(long, long)> report) : IProgress<(long Received, long Size)>
    {
        public void Report((long Received, long Size) value) => report(value);
    }

    /// <summary>Says <c>connected</c> and then never answers: a server whose application hangs.</summary>
    private sealed class SilentHandler : IWebSocketHandler
    {
        private int _opened;
        private int _pings;

        public int Opened => Volatile.Read(ref _opened);

        public int Pings => Volatile.Read(ref _pings);

        public void OnOpen(WebSocketConnection connection)
        {
            int id = Interlocked.Increment(ref _opened);
            connection.Send(Encoding.UTF8.GetBytes($$"""{"type":"connected","id":"{{id}}"}"""), MessageType.Text);
        }

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
            if (payload.SequenceEqual("""{"type":"ping"}"""u8))
            {
                Interlocked.Increment(ref _pings);
            }
        }
    }
}
