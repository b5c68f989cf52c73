using System.Net.Sockets;
using Engine.Buffers;
using Engine.Session;
using Engine.Transports;
using Engine.Transports.Epoll;
using Engine.Transports.Linux;

namespace Engine.Tests.Unit.Transports;

/// <summary>
/// Under overload (more descriptors ready than one epoll_wait returns) the epoll loop serves newcomers first: the
/// listener is accepted from in every full iteration, and a newcomer's first request is read in the iteration after its
/// accept, instead of each waiting for a whole round-robin pass over the ready connections (what made the connection
/// storm's fresh clients wait hundreds of milliseconds). The loop runs on the test thread, one iteration at a time, over
/// Unix-domain sockets: a write is readable at the other end when the writing call returns, so each iteration sees
/// exactly what the test wrote before it.
/// </summary>
public sealed class EpollFairnessTests
{
    private const int Busy = 600; // more than two full batches of 256

    [Fact]
    public void A_newcomer_is_accepted_and_read_ahead_of_a_long_ready_list()
    {
        if (!Native.IsSupported)
        {
            return; // the Linux loops: Linux on x86-64 only
        }
        var endPoint = new UnixDomainSocketEndPoint($"\0engine-epoll-fairness-{Environment.ProcessId}");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(endPoint);
        listener.Listen(Busy + 16);
        listener.Blocking = false;
        var buffers = new ConnectionBuffers(new BlockPool(4096, 16), SendLists.CreatePool(16), 1 << 20);
        var handlers = new List<Recorder>();
        var loop = new EpollLoop(0, listener, buffers, connection =>
        {
            var recorder = new Recorder();
            handlers.Add(recorder);
            connection.Start(recorder);
        });
        loop.RunOnCallingThread();
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < Busy; i++)
            {
                var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                clients.Add(client);
                client.Connect(endPoint);
            }
            for (int turn = 0; turn < 10 && handlers.Count < Busy; turn++)
            {
                loop.RunOnce(0);
            }
            Assert.Equal(Busy, handlers.Count);
            // One quiet iteration: a level-triggered descriptor goes back on the ready list when it is reported, so the
            // listener would otherwise still be at its head, ahead of the 600, when the newcomer arrives.
            loop.RunOnce(0);

            // Every established connection becomes readable, then a newcomer connects and sends its request at once:
            // the listener and then the newcomer join the ready list behind the 600.
            foreach (Socket client in clients)
            {
                client.Send([1]);
            }
            var newcomer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            clients.Add(newcomer);
            newcomer.Connect(endPoint);
            newcomer.Send([2]);

            loop.RunOnce(0);
            Assert.Equal(Busy + 1, handlers.Count); // accepted in the first full iteration, though not in its batch
            Recorder fresh = handlers[Busy];
            Assert.Equal(0, fresh.Received);

            loop.RunOnce(0);
            Assert.Equal(1, fresh.Received); // read in the next one, ahead of its place in the ready list
            int served = handlers.Take(Busy).Count(h => h.Received > 0);
            Assert.InRange(served, 2 * 256 - 1, Busy - 1); // while established connections still wait their turn

            for (int turn = 0; turn < 10 && handlers.Any(h => h.Received == 0); turn++)
            {
                loop.RunOnce(0);
            }
            Assert.All(handlers, h => Assert.Equal(1, h.Received)); // and then they have theirs
        }
        finally
        {
            foreach (Socket client in clients)
            {
                client.Dispose();
            }
            for (int turn = 0; turn < 20 && handlers.Any(h => !h.Closed); turn++)
            {
                loop.RunOnce(0);
            }
            loop.Stop();
        }
        Assert.All(handlers, h => Assert.True(h.Closed));
        Assert.Equal(0, buffers.Pool.Outstanding);
    }

    private sealed class Recorder : ITransportHandler
    {
        public int Received { get; private set; }

        public bool Closed { get; private set; }

        public bool IsFinished => false;

        public int OnReceived(Span<byte> data)
        {
            Received += data.Length;
            return data.Length;
        }

        public void OnTransportClosed(Exception? error) => Closed = true;
    }
}
