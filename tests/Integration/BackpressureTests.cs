using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Engine;
using Engine.Protocol;
using Host;

namespace Engine.Tests.Integration;

/// <summary>Read-side backpressure end to end: the server stops reading while its replies are over the limit, and resumes once they drain.</summary>
public sealed class BackpressureTests
{
    [Fact]
    public async Task Replies_over_the_limit_behind_a_send_from_another_thread_stop_the_reads_until_that_send_drains()
    {
        const int maxBuffered = 64 * 1024;
        const int bigMessage = 16 * 1024 * 1024;
        const int pings = 1000;
        var handler = new SendsOnOpen(bigMessage);
        await using var server = await TestServer.StartAsync(handler, o => o with { MaxBufferedBytes = maxBuffered });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        byte[] buffer = new byte[64 * 1024];
        // A small window, so most of the big message stays queued in the server while we do not read.
        long receivedBytes = await UpgradeWithSmallWindowAsync(socket, server.Port, buffer);
        // The big message is queued from a thread-pool thread, so a flush on that side owns the connection's send while
        // we do not read; the pongs below queue behind it, over the limit, and the server's reader must wait.
        await handler.Queued.WaitAsync(TestTimeouts.Hang);
        // Its first bytes arriving show that flush has claimed the send (our reader is idle, so nothing else could have).
        while (receivedBytes == 0)
        {
            receivedBytes += await socket.ReceiveAsync(buffer, SocketFlags.None);
        }

        var pingBatch = new List<byte>();
        for (int i = 0; i < pings; i++)
        {
            pingBatch.AddRange(RawClient.Frame(Opcode.Ping, new byte[FrameRules.MaxControlPayload]));
        }
        Task<int> sender = socket.SendAsync(pingBatch.ToArray(), SocketFlags.None);

        // Now read everything: the big message (10-byte header; more than the kernel buffers on loopback hold) and one
        // 127-byte pong per ping. The flush that drains the big message must wake the waiting reader (a lost wake-up
        // leaves the later pings unread, and this loop waits out its deadline). TestTimeouts.Hang is a hang detector:
        // unloaded the whole exchange takes about a second.
        long expected = 10 + bigMessage + ((long)pings * (2 + FrameRules.MaxControlPayload));
        var deadline = Stopwatch.StartNew();
        while (receivedBytes < expected && deadline.Elapsed < TestTimeouts.Hang)
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Hang - deadline.Elapsed);
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (read == 0)
            {
                break;
            }
            receivedBytes += read;
        }
        Assert.Equal(expected, receivedBytes);
        await sender;
        socket.Dispose();
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task A_peer_that_reads_only_after_sending_a_burst_larger_than_the_socket_buffers_gets_every_reply()
    {
        // 32 MiB of 2 KiB messages, all sent before the first read: more than the kernel buffers on loopback hold in
        // both directions, so the server's reply sends stall on our full window while the burst is still arriving. It
        // must keep reading meanwhile (the replies fit its limit): on io_uring a receive is armed a turn after a batch's
        // replies, and a loop that then slept until some completion arrived would wait on a send that only our reads
        // can finish, while we wait on a send that only its reads can finish.
        const int messages = 16 * 1024;
        const int size = 2048;
        await using var server = await TestServer.StartAsync(new EchoHandler(), o => o with { MaxBufferedBytes = 64 << 20 });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        byte[] buffer = new byte[64 * 1024];
        long receivedBytes = await UpgradeWithSmallWindowAsync(socket, server.Port, buffer); // the server's sends stall early

        byte[] frame = RawClient.Frame(Opcode.Binary, new byte[size]);
        byte[] burst = new byte[frame.Length * messages];
        for (int i = 0; i < messages; i++)
        {
            frame.CopyTo(burst, i * frame.Length);
        }
        using (var sent = new CancellationTokenSource(TestTimeouts.Hang)) // a hang detector: unloaded this takes well under a second
        {
            await socket.SendAsync(burst, SocketFlags.None, sent.Token);
        }

        long expected = (long)messages * (4 + size); // a 2 KiB reply has a 4-byte header
        var deadline = Stopwatch.StartNew();
        while (receivedBytes < expected && deadline.Elapsed < TestTimeouts.Hang)
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Hang - deadline.Elapsed);
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                break;
            }
            receivedBytes += read;
        }
        Assert.Equal(expected, receivedBytes);
        socket.Dispose();
        await server.AssertDrainedAsync();
    }

    /// <summary>
    /// Connects <paramref name="socket"/> with a 4 KiB receive buffer (a window the server fills quickly while we do not
    /// read) and completes the upgrade; returns how many bytes after the 101 response are already in <paramref name="buffer"/>.
    /// </summary>
    private static async Task<long> UpgradeWithSmallWindowAsync(Socket socket, int port, byte[] buffer)
    {
        socket.ReceiveBufferSize = 4096;
        await socket.ConnectAsync("127.0.0.1", port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(RawClient.UpgradeRequest()));
        int have = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, have).IndexOf("\r\n\r\n"u8)) < 0)
        {
            have += await socket.ReceiveAsync(buffer.AsMemory(have));
        }
        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString(buffer, 0, headEnd));
        return have - (headEnd + 4);
    }

    /// <summary>Queues one big binary message from a thread-pool thread as each connection opens.</summary>
    private sealed class SendsOnOpen(int size) : IWebSocketHandler
    {
        private readonly TaskCompletionSource _queued = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Queued => _queued.Task;

        public void OnOpen(WebSocketConnection connection) => _ = Task.Run(async () =>
        {
            // The 101 may still be queued (an empty queue takes any size, a non-empty one refuses past the limit).
            for (int attempt = 0; attempt < 1000; attempt++)
            {
                SendStatus status = connection.Send(new byte[size], MessageType.Binary);
                if (status == SendStatus.Queued)
                {
                    _queued.TrySetResult();
                    return;
                }
                if (status != SendStatus.Backpressure)
                {
                    break;
                }
                await Task.Delay(5); // a retry pace, not a bound: 1,000 tries (5 s or more) for the 101 to leave the queue
            }
            _queued.TrySetException(new InvalidOperationException("the big message was not queued"));
        });

        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
