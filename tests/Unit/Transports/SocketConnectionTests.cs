using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Engine.Buffers;
using Engine.Session;
using Engine.Transports;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Tests.Unit.Transports;

/// <summary>
/// The portable transport over a real loopback TCP connection: how it ends (the peer's FIN, the peer's reset) and a
/// send far larger than the socket's buffer, with every block given back each time. A reset peer must be reported as
/// a value, not a throw: under connection churn, thrown SocketExceptions cost the storm 4-6% of the server's core. The
/// reads and writes come from the server's pool and all go back once the connection is gone.
/// </summary>
public class SocketConnectionTests
{
    // Generous: only a hang fails these waits.
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_reset_peer_ends_the_connection_with_ConnectionReset_made_not_thrown()
    {
        using Rig rig = await Rig.StartAsync();
        (LoopbackPair pair, Handler handler) = (rig.Pair, rig.Handler);

        await pair.Client.SendAsync(new byte[] { 1, 2, 3 });
        await handler.WaitForBytesAsync(3);
        pair.Client.LingerState = new LingerOption(true, 0); // the close sends a reset, not a FIN
        pair.Client.Close();

        Exception? error = await handler.Closed.Task.WaitAsync(Hang);
        var reset = Assert.IsType<SocketException>(error);
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
        // Made as a value: a thrown exception carries the stack trace it was thrown through.
        Assert.Null(reset.StackTrace);
        rig.AssertEverythingReturned();
    }

    [Fact]
    public async Task The_peers_FIN_ends_the_connection_without_an_error()
    {
        using Rig rig = await Rig.StartAsync();
        (LoopbackPair pair, Handler handler) = (rig.Pair, rig.Handler);

        await pair.Client.SendAsync(new byte[] { 7 });
        pair.Client.Shutdown(SocketShutdown.Send);

        Assert.Null(await handler.Closed.Task.WaitAsync(Hang));
        Assert.Equal(new byte[] { 7 }, handler.Received());
        rig.AssertEverythingReturned();
    }

    [Fact]
    public async Task A_send_larger_than_the_socket_buffer_arrives_whole_and_in_order()
    {
        // Small kernel buffers, so the writes cannot all be taken at once and the send has to wait for the reader.
        using Rig rig = await Rig.StartAsync(pair =>
        {
            pair.Server.SendBufferSize = 8 * 1024;
            pair.Client.ReceiveBufferSize = 8 * 1024;
        });
        (LoopbackPair pair, SocketConnection connection) = (rig.Pair, rig.Connection);
        var shared = new SharedBufferPool(rig.Pool, ArrayPool<byte>.Shared, 16);

        // Small frames (gathered into one block per write) and large ones (sent alone), as a mixed queue holds them.
        var expected = new List<byte>();
        connection.Output.Cork();
        for (int i = 0; i < 40; i++)
        {
            SharedBuffer frame = shared.Rent(i % 2 == 0 ? 34 : 96 * 1024);
            for (int b = 0; b < frame.Span.Length; b++)
            {
                frame.Span[b] = (byte)(i * 31 + b);
            }
            expected.AddRange(frame.Span.ToArray());
            Assert.Equal(EnqueueResult.Queued, connection.Output.TryWrite(frame, long.MaxValue));
            frame.Release();
        }
        Assert.True(connection.Output.Uncork());
        connection.RequestFlush();

        var received = new byte[expected.Count];
        using var timeout = new CancellationTokenSource(Hang);
        for (int have = 0; have < received.Length;)
        {
            int read = await pair.Client.ReceiveAsync(received.AsMemory(have, Math.Min(4096, received.Length - have)), timeout.Token);
            Assert.NotEqual(0, read);
            have += read;
        }
        Assert.Equal(expected.ToArray(), received);
        Assert.True(rig.Operations.Rented > 1, "the writes rent operations too");
        // A write's operation goes back when its send completes, which may be just after the bytes arrived here: an
        // idle connection holds only its read's (memory per idle connection). Only a hang fails the wait.
        Assert.True(SpinWait.SpinUntil(() => rig.Operations.Outstanding == 1, Hang), $"{rig.Operations.Outstanding} operations held while idle");

        connection.Abort();
        Assert.Null(await rig.Handler.Closed.Task.WaitAsync(Hang)); // an abort is not a failure
        rig.AssertEverythingReturned();
    }

    [Fact]
    public async Task An_idle_connection_waits_in_its_reads_callback_not_in_a_suspended_method()
    {
        using Rig rig = await Rig.StartAsync();
        Socket client = rig.Pair.Client;
        await client.SendAsync(new byte[] { 1, 2, 3 });
        await rig.Handler.WaitForBytesAsync(3);

        // Idle again: the zero-byte read is pending, and what resumes the connection is the read's callback, so no
        // async method's state (152 B) waits per idle connection. Only a hang fails the wait.
        SocketOperation read = rig.Operations.First!;
        Assert.True(SpinWait.SpinUntil(() => read.HasWaiter, Hang), "the idle connection's read has no connection to call back");
        await client.SendAsync(new byte[] { 4 });
        await rig.Handler.WaitForBytesAsync(4); // and the callback resumes it
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, rig.Handler.Received());

        client.Shutdown(SocketShutdown.Send);
        Assert.Null(await rig.Handler.Closed.Task.WaitAsync(Hang));
        rig.AssertEverythingReturned();
    }

    /// <summary>A started SocketConnection on the server end of a loopback pair, with counted pools.</summary>
    private sealed class Rig : IDisposable
    {
        private Rig(LoopbackPair pair)
        {
            Pair = pair;
            Connection = new SocketConnection(pair.Server,
                new ConnectionBuffers(Pool, SendLists.CreatePool(4), long.MaxValue) { SocketOperations = Operations });
            Connection.Start(Handler);
        }

        public LoopbackPair Pair { get; }

        public BlockPool Pool { get; } = new(1024, 16);

        public CountingOperations Operations { get; } = new();

        public Handler Handler { get; } = new();

        public SocketConnection Connection { get; }

        /// <param name="configure">Runs on the pair before the connection starts (socket options).</param>
        public static async Task<Rig> StartAsync(Action<LoopbackPair>? configure = null)
        {
            LoopbackPair pair = await LoopbackPair.OpenAsync();
            configure?.Invoke(pair);
            return new Rig(pair);
        }

        /// <summary>After the close: every block and every socket operation is back in its pool.</summary>
        public void AssertEverythingReturned()
        {
            Assert.Equal(0, Pool.Outstanding);
            Assert.Equal(0, Operations.Outstanding);
        }

        public void Dispose() => Pair.Dispose();
    }

    /// <summary>The server's pool of socket operations, counting those rented and not yet given back.</summary>
    private sealed class CountingOperations : ObjectPool<SocketOperation>
    {
        private readonly ObjectPool<SocketOperation> _pool = SocketOperation.CreatePool();
        private int _outstanding;

        public int Outstanding => Volatile.Read(ref _outstanding);

        private int _rented;

        public int Rented => Volatile.Read(ref _rented);

        /// <summary>The first operation rented: the connection's read, held for its life.</summary>
        public SocketOperation? First { get; private set; }

        public override SocketOperation Get()
        {
            Interlocked.Increment(ref _outstanding);
            Interlocked.Increment(ref _rented);
            SocketOperation operation = _pool.Get();
            First ??= operation;
            return operation;
        }

        public override void Return(SocketOperation operation)
        {
            Interlocked.Decrement(ref _outstanding);
            _pool.Return(operation);
        }
    }

    private sealed class Handler : ITransportHandler
    {
        private readonly List<byte> _received = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public TaskCompletionSource<Exception?> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsFinished => false;

        public int OnReceived(Span<byte> data)
        {
            lock (_received)
            {
                _received.AddRange(data.ToArray());
            }
            _arrived.Release();
            return data.Length;
        }

        public void OnTransportClosed(Exception? error) => Closed.TrySetResult(error);

        public byte[] Received()
        {
            lock (_received)
            {
                return _received.ToArray();
            }
        }

        public async Task WaitForBytesAsync(int count)
        {
            while (Received().Length < count)
            {
                Assert.True(await _arrived.WaitAsync(Hang), "no bytes arrived");
            }
        }
    }

    /// <summary>Both ends of one loopback TCP connection.</summary>
    private sealed class LoopbackPair : IDisposable
    {
        private LoopbackPair(Socket server, Socket client)
        {
            Server = server;
            Client = client;
        }

        public Socket Server { get; }

        public Socket Client { get; }

        public static async Task<LoopbackPair> OpenAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.LocalEndPoint!);
            Socket server = await listener.AcceptAsync();
            return new LoopbackPair(server, client);
        }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }
}
