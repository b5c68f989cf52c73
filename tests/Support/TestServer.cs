using System.Net;
using Engine;

namespace Engine.Tests.Support;

/// <summary>An engine server on a free loopback port for one test.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(WebSocketServer server)
    {
        Server = server;
    }

    /// <summary>ENGINE_TEST_TRANSPORT=sockets|epoll|io_uring runs the integration tests on one transport (test.sh runs the default, io_uring here, then epoll and sockets).</summary>
    public static TransportKind Transport { get; } = Environment.GetEnvironmentVariable("ENGINE_TEST_TRANSPORT") switch
    {
        "sockets" => TransportKind.Sockets,
        "epoll" => TransportKind.Epoll,
        "io_uring" => TransportKind.IoUring,
        _ => TransportKind.Auto,
    };

    public WebSocketServer Server { get; }

    public int Port => Server.LocalEndPoint.Port;

    public Uri Uri => new($"ws://127.0.0.1:{Port}/");

    public static async Task<TestServer> StartAsync(IWebSocketHandler handler, Func<WebSocketServerOptions, WebSocketServerOptions>? configure = null)
    {
        RunnerThreadPool.GiveBackBlockedThreads();
        var options = new WebSocketServerOptions
        {
            Address = IPAddress.Loopback,
            Port = 0,
            // A fine tick (the default is 100 ms) so the tests' short timeouts fire close to when they are due.
            TimerResolution = TimeSpan.FromMilliseconds(20),
            Transport = Transport,
        };
        if (configure is not null)
        {
            options = configure(options);
        }
        var server = new WebSocketServer(options, handler);
        await server.StartAsync();
        return new TestServer(server);
    }

    /// <summary>Waits until every connection has ended and every pooled buffer is back (<see cref="TestTimeouts.Hang"/> bounds the wait).</summary>
    public async Task AssertDrainedAsync()
    {
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
        while ((Server.ConnectionCount > 0 || Server.OutstandingBuffers > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, Server.ConnectionCount);
        Assert.Equal(0, Server.OutstandingBuffers);
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
