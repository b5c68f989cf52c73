using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Engine.Client;
using Engine.Tests.Support;

namespace Engine.Tests.Resilience;

/// <summary>
/// Clients reconnecting while the server restarts: the real Host (application protocol) is stopped with SIGTERM and
/// started again on the same port; every <see cref="EngineClient"/> reconnects with backoff, joins its channel again
/// and receives what is published after.
/// </summary>
public sealed class RestartTests
{
    private const int Clients = 10;

    [Fact]
    public async Task Clients_reconnect_and_resubscribe_across_a_host_restart()
    {
        int port = FreePort();
        string[] args = ["--app", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--address", "127.0.0.1", "--shutdown-timeout", "2000"];
        var host = await HostProcess.StartAsync(args);
        var clients = new List<EngineClient>();
        var opens = new int[Clients];
        var retries = new int[Clients];
        var received = new ConcurrentDictionary<int, string>();
        var resubscribed = new int[Clients];
        try
        {
            for (int i = 0; i < Clients; i++)
            {
                int index = i;
                var client = new EngineClient(new EngineClientOptions
                {
                    Uri = new Uri($"ws://127.0.0.1:{port}/"),
                    BaseDelay = TimeSpan.FromMilliseconds(100),
                    MaxDelay = TimeSpan.FromMilliseconds(800),
                    MaxRetries = 100,
                });
                client.Opened += () => Interlocked.Increment(ref opens[index]);
                client.Reconnecting += (_, _) => Interlocked.Increment(ref retries[index]);
                client.MessageReceived += m => received[index] = m.Content.GetString()!;
                client.Subscribed += _ =>
                {
                    if (Volatile.Read(ref opens[index]) >= 2)
                    {
                        Interlocked.Increment(ref resubscribed[index]); // the Host's answer to the subscribe sent on reopen
                    }
                };
                clients.Add(client);
                await client.StartAsync().WaitAsync(TestTimeouts.Hang);
                await client.SubscribeAsync("room");
            }

            host.Terminate();
            Assert.True(await host.WaitForExitAsync(TestTimeouts.Hang), "the Host did not stop");
            Assert.Equal(0, host.ExitCode);
            host.Dispose();
            // Down until every client has retried against the closed port at least twice (a signal, not a 1.5 s sleep that
            // a loaded box could fill before the second attempt), with the hang bound.
            var deadline = DateTime.UtcNow + TestTimeouts.Hang;
            while (retries.Any(r => Volatile.Read(ref r) < 2) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            host = await HostProcess.StartAsync(args);

            deadline = DateTime.UtcNow + TestTimeouts.Hang;
            while (opens.Any(o => Volatile.Read(ref o) < 2) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            Assert.All(opens, o => Assert.Equal(2, o));
            Assert.All(retries, r => Assert.True(r >= 2, $"only {r} reconnect attempts while the Host was down"));

            // The channel was joined again on reconnect: once the Host has answered every client's new subscribe (a signal;
            // a 200 ms sleep here let a loaded box publish before some had joined), a publish reaches every other client.
            deadline = DateTime.UtcNow + TestTimeouts.Hang;
            while (resubscribed.Any(s => Volatile.Read(ref s) < 1) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            Assert.All(resubscribed, s => Assert.True(s >= 1, "a client was not subscribed again after the restart"));
            await clients[0].PublishAsync("room", "after the restart");
            deadline = DateTime.UtcNow + TestTimeouts.Hang;
            while (received.Count < Clients - 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            Assert.Equal(Enumerable.Range(1, Clients - 1), received.Keys.Order());
            Assert.All(received.Values, v => Assert.Equal("after the restart", v));
        }
        finally
        {
            foreach (EngineClient client in clients)
            {
                await client.DisposeAsync();
            }
            host.Dispose();
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
