using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Load.Servers;

namespace Load.Scenarios;

/// <summary>
/// permessage-deflate (RFC 7692): a compressed echo (ping-pong JSON text) and the memory an idle connection costs once
/// compression is agreed and used. The peer is .NET's ClientWebSocket with DangerousDeflateOptions (browsers' offer:
/// context takeover both ways, 15-bit windows), so the generator's own cost is high: compare the servers by messages
/// per server CPU-second, not by messages per second.
/// </summary>
internal static class CompressionScenario
{
    /// <summary>About 1 KiB of chat-like JSON, different every message (as compressible as the Host's real traffic).</summary>
    public static byte[] Message(int seed, int length)
    {
        var random = new Random(seed);
        var text = new StringBuilder(length + 128);
        while (text.Length < length)
        {
            text.Append("{\"type\":\"message\",\"channel\":\"room-").Append(random.Next(20)).Append("\",\"from\":\"user-")
                .Append(random.Next(1000)).Append("\",\"content\":\"hello number ").Append(random.Next(100000)).Append("\"},");
        }
        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }

    private static async Task<ClientWebSocket> ConnectAsync(ServerProcess server, bool deflate)
    {
        var client = new ClientWebSocket();
        if (deflate)
        {
            client.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        }
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}{server.Kind.Path}"), CancellationToken.None);
        return client;
    }

    private static async Task EchoOneAsync(ClientWebSocket client, byte[] message, byte[] buffer)
    {
        await client.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
        int total = 0;
        while (true)
        {
            var result = await client.ReceiveAsync(buffer.AsMemory(total), CancellationToken.None);
            total += result.Count;
            if (result.EndOfMessage)
            {
                if (total != message.Length)
                {
                    throw new InvalidDataException($"echo of {message.Length} B came back as {total} B");
                }
                return;
            }
        }
    }

    /// <summary>Ping-pong echo of compressed messages over <paramref name="connections"/> connections.</summary>
    public static Measurement Echo(ServerProcess server, int connections, int length, TimeSpan warmup, TimeSpan measure)
    {
        var m = new Measurement();
        var clients = new List<ClientWebSocket>();
        try
        {
            for (int i = 0; i < connections; i++)
            {
                clients.Add(ConnectAsync(server, deflate: true).GetAwaiter().GetResult());
            }
            byte[][] messages = Enumerable.Range(0, 64).Select(i => Message(i, length)).ToArray();
            long counted = 0;
            bool counting = false;
            var stop = new CancellationTokenSource();
            var loops = clients.Select((client, index) => Task.Run(async () =>
            {
                var buffer = new byte[length + 1024];
                for (int n = index; !stop.IsCancellationRequested; n++)
                {
                    await EchoOneAsync(client, messages[n % messages.Length], buffer);
                    if (Volatile.Read(ref counting))
                    {
                        Interlocked.Increment(ref counted);
                    }
                }
            })).ToArray();
            Thread.Sleep(warmup);
            double cpu0 = server.CpuSeconds();
            var watch = Stopwatch.StartNew();
            Volatile.Write(ref counting, true);
            Thread.Sleep(measure);
            Volatile.Write(ref counting, false);
            m.Seconds = watch.Elapsed.TotalSeconds;
            m.ServerCpuSeconds = server.CpuSeconds() - cpu0;
            m.Messages = Interlocked.Read(ref counted);
            m.PayloadBytes = m.Messages * length;
            stop.Cancel();
            try
            {
                Task.WaitAll(loops, TimeSpan.FromSeconds(10));
            }
            catch (AggregateException e)
            {
                m.Error = e.InnerException?.Message;
                m.Failed = loops.Count(t => t.IsFaulted);
            }
        }
        catch (Exception e) when (e is WebSocketException or InvalidDataException or IOException)
        {
            m.Error = e.Message;
            m.Failed++;
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Abort();
                client.Dispose();
            }
        }
        return m;
    }

    /// <summary>
    /// Server RSS per connection for <paramref name="connections"/> idle connections that each agreed compression (or not,
    /// with <paramref name="deflate"/> false) and exchanged one compressed message, so any lazily created zlib state exists.
    /// </summary>
    public static (double RssPerConnection, int Opened, string? Error) IdleMemory(ServerProcess server, int connections, bool deflate)
    {
        Thread.Sleep(1000);
        long rss0 = server.RssBytes();
        var clients = new List<ClientWebSocket>();
        string? error = null;
        try
        {
            byte[] message = Message(1, 1024);
            var buffer = new byte[4096];
            for (int i = 0; i < connections; i++)
            {
                ClientWebSocket client = ConnectAsync(server, deflate).GetAwaiter().GetResult();
                clients.Add(client);
                EchoOneAsync(client, message, buffer).GetAwaiter().GetResult();
            }
            Thread.Sleep(1500);
            long rss1 = server.RssBytes();
            return (rss0 > 0 && rss1 > 0 ? (double)(rss1 - rss0) / clients.Count : double.NaN, clients.Count, error);
        }
        catch (Exception e) when (e is WebSocketException or InvalidDataException or IOException)
        {
            error = e.Message;
            return (double.NaN, clients.Count, error);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Abort();
                client.Dispose();
            }
        }
    }
}
