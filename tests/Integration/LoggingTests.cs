using System.Net.WebSockets;
using System.Text;
using Engine;
using Engine.Protocol;
using Engine.Runtime;
using Engine.Timers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Engine.Tests.Integration;

/// <summary>The server's log events after real traffic, captured by a FakeLoggerProvider.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Lifecycle_connections_rejections_protocol_errors_and_handler_exceptions_are_logged()
    {
        using var provider = new FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Debug));
        var server = await TestServer.StartAsync(new ThrowingHandler(), o => o with { LoggerFactory = factory });
        int port = server.Port;

        using (var client = new ClientWebSocket())
        {
            await client.ConnectAsync(server.Uri, CancellationToken.None);
            await client.SendAsync("boom"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[256];
            WebSocketReceiveResult result = await client.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal(WebSocketMessageType.Close, result.MessageType);
            Assert.Equal((WebSocketCloseStatus)1011, client.CloseStatus);
        }
        using (var raw = await RawClient.ConnectAsync(port))
        {
            await raw.HandshakeAsync();
            await raw.SendAsync(RawClient.Frame(Opcode.Text, "x"u8, masked: false)); // §5.1: client frames must be masked
            Assert.Equal(1002, await raw.ReadCloseCodeAsync());
        }
        Assert.StartsWith("HTTP/1.1 403", await MetricsTests.RawRequestAsync(port, RawClient.UpgradeRequest("Origin: https://evil.example\r\n")));
        await server.DisposeAsync();

        IReadOnlyList<FakeLogRecord> records = provider.Collector.GetSnapshot();
        Assert.All(records, r => Assert.Equal(WebSocketTelemetry.LoggerCategory, r.Category));
        FakeLogRecord started = Single(records, 1, LogLevel.Information);
        Assert.Contains($":{port}", started.Message);
        Single(records, 2, LogLevel.Information);
        Single(records, 3, LogLevel.Information);
        Assert.Equal(2, records.Count(r => r.Id.Id == 10 && r.Level == LogLevel.Debug)); // both upgrades opened
        FakeLogRecord failed = Single(records, 20, LogLevel.Error);
        Assert.IsType<InvalidOperationException>(failed.Exception);
        Assert.Contains("OnMessage", failed.Message);
        FakeLogRecord protocol = Single(records, 13, LogLevel.Debug);
        Assert.Contains("client frames must be masked", protocol.Message);
        Assert.Contains("1002", protocol.Message);
        FakeLogRecord rejected = Single(records, 12, LogLevel.Debug);
        Assert.Contains("403", rejected.Message);
        Assert.Contains("application", rejected.Message);
        // Closes: the handler failure (1011) and the protocol error (1002), each once.
        List<FakeLogRecord> closed = records.Where(r => r.Id.Id == 11).ToList();
        Assert.Equal(2, closed.Count);
        Assert.Contains(closed, r => r.Message.Contains("1011"));
        Assert.Contains(closed, r => r.Message.Contains("1002"));
    }

    [Fact]
    public async Task A_timer_callback_that_throws_is_logged_and_the_timer_thread_goes_on()
    {
        using var provider = new FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Debug));
        await using var server = await TestServer.StartAsync(new ThrowingHandler(), o => o with
        {
            LoggerFactory = factory,
            TimerResolution = TimeSpan.FromMilliseconds(10),
        });
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TimerWheel wheel = server.Server.Wheel;
        long now = server.Server.Clock();
        wheel.Schedule(new CallbackEntry(_ => throw new InvalidOperationException("timer bug")), now + 10);
        wheel.Schedule(new CallbackEntry(_ => fired.TrySetResult()), now + 200); // due well after the faulty one

        // A hang bound: the entry is due 200 ms after scheduling on a 10 ms tick. Before the fix the thread swallowed the
        // exception silently, so the log assertion below is what fails.
        await fired.Task.WaitAsync(TestTimeouts.Hang);
        FakeLogRecord record = Single(provider.Collector.GetSnapshot(), 5, LogLevel.Error);
        Assert.Equal("timer bug", record.Exception?.Message);
        Assert.Equal(1, wheel.CallbackFailures);
    }

    [Fact]
    public void A_disabled_level_allocates_nothing()
    {
        using var provider = new FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Warning));
        ILogger logger = factory.CreateLogger(WebSocketTelemetry.LoggerCategory);
        var exception = new InvalidOperationException("x");
        Log(logger, exception, 100);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Log(logger, exception, 10_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Empty(provider.Collector.GetSnapshot());

        static void Log(ILogger logger, Exception exception, int times)
        {
            for (int i = 0; i < times; i++)
            {
                ServerLog.ConnectionClosed(logger, i, 1000, "bye");
                ServerLog.ProtocolError(logger, i, "invalid UTF-8", 1007);
                ServerLog.ConnectionTimedOut(logger, i, "heartbeat timeout");
                ServerLog.TransportError(logger, i, exception);
                ServerLog.HandshakeRejected(logger, null, 403, "application");
            }
        }
    }

    private static FakeLogRecord Single(IReadOnlyList<FakeLogRecord> records, int id, LogLevel level)
    {
        List<FakeLogRecord> matching = records.Where(r => r.Id.Id == id).ToList();
        Assert.True(matching.Count == 1, $"event {id}: {matching.Count} records in\n{string.Join("\n", records.Select(r => $"{r.Id.Id} {r.Message}"))}");
        Assert.Equal(level, matching[0].Level);
        return matching[0];
    }

    /// <summary>A timer entry that runs <paramref name="onTimer"/> when it fires.</summary>
    private sealed class CallbackEntry(Action<long> onTimer) : TimerEntry
    {
        public override void OnTimer(long nowMs) => onTimer(nowMs);
    }

    /// <summary>Throws on the message "boom"; rejects the evil Origin.</summary>
    private sealed class ThrowingHandler : IWebSocketHandler
    {
        public UpgradeDecision OnUpgrade(RequestHead request) =>
            request.GetHeader("Origin") == "https://evil.example" ? UpgradeDecision.Reject(403) : UpgradeDecision.Accept();

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
            if (Encoding.UTF8.GetString(payload) == "boom")
            {
                throw new InvalidOperationException("handler bug");
            }
        }
    }
}
