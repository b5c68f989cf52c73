using System.Net.Sockets;
using Engine.Buffers;
using Engine.Transports;
using Engine.Transports.Epoll;
using Engine.Transports.IoUring;
using Engine.Transports.Linux;

namespace Engine.Fuzz;

/// <summary>
/// The real event loops the transport target drives: one per transport and send limit, made once per process and reused
/// by every run (as a server's loops serve connection after connection), never started: <see cref="Thread"/> runs them
/// one <c>RunOnce</c> at a time (<see cref="LinuxEventLoop{T}.RunOnCallingThread"/>). Each listens on its own abstract
/// Unix-domain socket: a Unix stream pair hands every write to the reader inside the writing system call, so what the
/// server reads in an iteration is exactly what the peer wrote before it (TCP loopback defers some of it to softirqs and
/// timers).
/// </summary>
internal static class TransportLoops
{
    /// <summary>The block size of the loops' pools (a server may use 1 KiB and up; small blocks mean more segments per send).</summary>
    public const int BlockSize = 4096;

    /// <summary>Queued bytes above which a connection stops reading, for the runs that test backpressure.</summary>
    public const long SmallSendLimit = 1024;

    /// <summary>The send limit otherwise (the server's default is 4 MiB; this one is reached by a long input, too).</summary>
    public const long LargeSendLimit = 256 * 1024;

    private static readonly Dictionary<(bool Uring, bool SmallLimit), Loop> Loops = [];

    /// <summary>The thread every loop runs on.</summary>
    public static WorkerThread Thread { get; } = new("fuzz-loop");

    /// <summary>Whether this machine has the io_uring transport (containers often forbid io_uring).</summary>
    public static bool UringSupported => UringLoop.IsSupported;

    /// <summary>Loop thread: the loop for a run, made on first use.</summary>
    public static Loop Get(bool uring, bool smallLimit)
    {
        if (!Loops.TryGetValue((uring, smallLimit), out Loop? loop))
        {
            loop = new Loop(uring, smallLimit ? SmallSendLimit : LargeSendLimit);
            Loops.Add((uring, smallLimit), loop);
        }
        return loop;
    }

    /// <summary>One loop with its listener and pool; <see cref="Accepted"/> hears of each connection it accepts.</summary>
    internal sealed class Loop
    {
        /// <summary>Blocks and segment lists each pool keeps.</summary>
        private const int Retained = 16;

        private readonly Action<int> _runOnce;
        private readonly ConnectionBuffers _buffers;

        public Loop(bool uring, long sendLimit)
        {
            Uring = uring;
            Pool = new BlockPool(BlockSize, Retained);
            _buffers = new ConnectionBuffers(Pool, SendLists.CreatePool(Retained), sendLimit);
            ConnectionBuffers buffers = _buffers;
            EndPoint = new UnixDomainSocketEndPoint($"\0engine-fuzz-{Environment.ProcessId}-{(uring ? "uring" : "epoll")}-{sendLimit}");
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(EndPoint);
            listener.Listen(16);
            listener.Blocking = false; // as ReusePortListeners leaves it: the loops accept until EAGAIN
            if (uring)
            {
                // Two receive buffers (a server has 128): a run has one connection, which gives its buffer back after each read.
                var loop = new UringLoop(0, listener, buffers, 2, connection => Accepted?.Invoke(connection));
                loop.RunOnCallingThread();
                _runOnce = loop.RunOnce;
            }
            else
            {
                var loop = new EpollLoop(0, listener, buffers, connection => Accepted?.Invoke(connection));
                loop.RunOnCallingThread();
                _runOnce = loop.RunOnce;
            }
        }

        public bool Uring { get; }

        public BlockPool Pool { get; }

        public UnixDomainSocketEndPoint EndPoint { get; }

        /// <summary>Set by the run in progress.</summary>
        public Action<LinuxConnection>? Accepted { get; set; }

        /// <summary>
        /// Fills the pools to what they retain, before each run: whether a rent finds a pooled block or allocates one
        /// would otherwise depend on the runs before, and afl-fuzz would see the same input take different paths.
        /// </summary>
        public void FillPools()
        {
            var blocks = new byte[Retained][];
            var lists = new SendLists[Retained];
            for (int i = 0; i < Retained; i++)
            {
                blocks[i] = Pool.Rent();
                lists[i] = _buffers.Lists.Get();
            }
            for (int i = 0; i < Retained; i++)
            {
                Pool.Return(blocks[i]);
                _buffers.Lists.Return(lists[i]);
            }
        }

        /// <summary>One loop iteration that does not wait.</summary>
        public void Turn() => _runOnce(0);

        /// <summary>One loop iteration that waits up to <paramref name="milliseconds"/> for something to happen.</summary>
        public void Wait(int milliseconds) => _runOnce(milliseconds);
    }
}
