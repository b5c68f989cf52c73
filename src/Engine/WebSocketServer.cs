using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Engine.Buffers;
using Engine.Runtime;
using Engine.Session;
using Engine.Timers;
using Engine.Transports;
using Engine.Transports.Epoll;
using Engine.Transports.IoUring;
using Engine.Transports.Linux;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.ObjectPool;

namespace Engine;

/// <summary>
/// An RFC 6455 WebSocket server on raw sockets. Create it with options and a handler, then <see cref="StartAsync"/>.
/// Holds no global state: several servers can run in one process. It can also take over connections accepted
/// elsewhere (<see cref="Accept(Socket)"/>, <see cref="Accept(Stream, EndPoint?)"/>).
/// </summary>
public sealed partial class WebSocketServer : IAsyncDisposable, IServerGauges
{
    private readonly ConnectionRegistry _connections = new();
    private readonly SessionSettings _settings;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Socket? _listener;
    private LoopTransport? _loops;
    private Task[] _acceptLoops = [];
    private Thread? _timerThread;
    private long _nextId;
    private int _openConnections;
    private int _state; // a ServerState, an int for Interlocked

    /// <summary>Creates a server; nothing is bound until <see cref="StartAsync"/>.</summary>
    public WebSocketServer(WebSocketServerOptions options, IWebSocketHandler handler)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        options.Validate();
        Options = options;
        Handler = handler;
        Logger = options.LoggerFactory?.CreateLogger(WebSocketTelemetry.LoggerCategory) ?? NullLogger.Instance;
        // Blocks are retained up to ~64 MiB; beyond that a burst's surplus goes back to the GC.
        Pool = new BlockPool(options.BlockSize, Math.Max(64, (64 << 20) / options.BlockSize));
        // Send lists are retained up to the peak in use, as message states are: a broadcast to 10,000 subscribers has as
        // many queues sending at once, and a pool that kept 4,096 of them made the rest again on every publish (42 B
        // allocated per delivery there). An idle connection still holds none.
        Buffers = new ConnectionBuffers(Pool, SendLists.CreatePool(1 << 20), options.MaxBufferedBytes) { Descriptors = DescriptorBudget.ForProcess() };
        // Reassembly buffers for messages that span reads: retained per size class (up to the peak in use) instead of the
        // shared pool, whose small per-core stock runs dry when hundreds of connections are mid-message at once.
        MessageBuffers = ArrayPool<byte>.Create((int)Math.Min(options.MaxMessageSize + 64, 1 << 30), 512);
        // The clock is read at call time: Clock is an init property, set after this constructor.
        Wheel = new TimerWheel((long)options.TimerResolution.TotalMilliseconds, 1024, Clock(),
            exception => ServerLog.TimerCallbackFailed(Logger, exception));
        _settings = SessionSettingsFrom(options) with { Clock = () => Clock(), MessageBuffers = MessageBuffers, Wheel = Wheel, Owner = this };
        // Pub/sub frames: a holder per frame in flight, most of them holding a block, so retained up to as many as blocks.
        SharedBuffers = new SharedBufferPool(Pool, MessageBuffers, Math.Max(64, (64 << 20) / options.BlockSize));
        PubSub = new PubSub(this, options.PubSubShards);
        Metrics = new ServerMetrics(this, options.MeterFactory);
    }

    /// <summary>The settings this server runs with.</summary>
    public WebSocketServerOptions Options { get; }

    /// <summary>The application callbacks.</summary>
    public IWebSocketHandler Handler { get; }

    /// <summary>Channels: subscribe connections and publish to them (framed once for all subscribers).</summary>
    public PubSub PubSub { get; }

    /// <summary>The bound address once started (with the actual port when <see cref="WebSocketServerOptions.Port"/> was 0).</summary>
    public IPEndPoint LocalEndPoint => _loops?.LocalEndPoint
        ?? (IPEndPoint)(_listener?.LocalEndPoint ?? throw new InvalidOperationException("The server is not started."));

    /// <summary>The transport in use once started.</summary>
    public TransportKind ActiveTransport => _loops?.Kind ?? TransportKind.Sockets;

    /// <summary>Connections currently held (in the handshake or open).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Upgraded WebSocket connections currently open (what <see cref="WebSocketServerOptions.MaxConnections"/> limits).</summary>
    public int OpenWebSocketCount => Volatile.Read(ref _openConnections);

    /// <summary>Pooled blocks rented and not returned: zero when no connection is active and nothing leaked.</summary>
    public long OutstandingBuffers => Pool.Outstanding;

    internal BlockPool Pool { get; }

    /// <summary>The io_uring or epoll loops, when the server runs on one of them.</summary>
    internal LoopTransport? Loops => _loops;

    /// <summary>What every connection's transport draws on: blocks, send-segment lists, the send limit.</summary>
    internal ConnectionBuffers Buffers { get; }

    internal ILogger Logger { get; }

    internal ServerMetrics Metrics { get; }

    internal TimerWheel Wheel { get; }

    /// <summary>The subprotocols agreed on this server's connections, each kept once (a connection holds its number).</summary>
    internal SubprotocolNames Subprotocols { get; } = new();

    internal ArrayPool<byte> MessageBuffers { get; }

    /// <summary>The holders of pub/sub frames (<see cref="PubSub"/> frames a message once for all its subscribers).</summary>
    internal SharedBufferPool SharedBuffers { get; }

    /// <summary>The per-connection settings made from the options (pub/sub reads the compression pool from it).</summary>
    internal SessionSettings Settings => _settings;

    private ServerState State => (ServerState)Volatile.Read(ref _state);

    /// <summary>The server's clock in milliseconds (monotonic).</summary>
    internal Func<long> Clock { get; init; } = static () => Environment.TickCount64;

    /// <summary>Binds, listens and starts accepting.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, (int)ServerState.Running, (int)ServerState.New) != (int)ServerState.New)
        {
            throw new InvalidOperationException("The server was already started.");
        }
        // TLS needs a Stream (SslStream), so TLS servers accept on the portable path (Validate rejects the loops with TLS).
        TransportKind kind = Options.ResolvedTransport;
        if (!Options.Listen)
        {
            StartTimer(); // connections come only through Accept and BeginUpgrade
            return Task.CompletedTask;
        }
        if (kind != TransportKind.Sockets)
        {
            _loops = LoopTransport.Start(new IPEndPoint(Options.Address, Options.Port), Options.Backlog,
                Options.EventLoops, kind, (index, listener) => kind == TransportKind.IoUring
                    ? new UringLoop(index, listener, Buffers, Options.UringReceiveBuffers, StartConnection)
                    : new EpollLoop(index, listener, Buffers, StartConnection));
            StartTimer();
            ServerLog.ServerStarted(Logger, _loops.LocalEndPoint, kind);
            return Task.CompletedTask;
        }
        ListenerPortCheck.EnsureFree(new IPEndPoint(Options.Address, Options.Port));
        var listener = new Socket(Options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (Options.Address.AddressFamily == AddressFamily.InterNetworkV6 && Options.Address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(Options.Address, Options.Port));
            listener.Listen(Options.Backlog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        _listener = listener;
        StartTimer();
        _acceptLoops = new Task[Options.ConcurrentAccepts];
        for (int i = 0; i < _acceptLoops.Length; i++)
        {
            _acceptLoops[i] = AcceptLoopAsync(listener);
        }
        ServerLog.ServerStarted(Logger, (IPEndPoint)listener.LocalEndPoint!, TransportKind.Sockets);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Takes over a connected socket (accepted by another host); the HTTP upgrade is read from it, after the TLS
    /// handshake when <see cref="WebSocketServerOptions.Tls"/> is set.
    /// </summary>
    public void Accept(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        EnsureRunning();
        StartConnection(Options.Tls is { } tls
            ? new TlsConnection(socket, tls, Buffers)
            : new SocketConnection(socket, Buffers));
    }

    /// <summary>Takes over a connected stream (for example an <see cref="System.Net.Security.SslStream"/>); the HTTP upgrade is read from it.</summary>
    public void Accept(Stream stream, EndPoint? remoteEndPoint = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        EnsureRunning();
        StartConnection(new StreamConnection(stream, remoteEndPoint, Buffers));
    }

    /// <summary>
    /// Graceful stop: stop accepting, send 1001 Going Away to every connection, wait up to
    /// <see cref="WebSocketServerOptions.ShutdownTimeout"/> (or until <paramref name="cancellationToken"/> fires) for
    /// the close replies, then abort the rest.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, (int)ServerState.Stopping, (int)ServerState.Running) != (int)ServerState.Running)
        {
            return;
        }
        _stopping.Cancel();
        _listener?.Dispose();
        _loops?.StopListening();
        try
        {
            await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Accept loops end with the listener; nothing to report.
        }
        ServerLog.ServerStopping(Logger, _connections.Count);
        foreach (WebSocketConnection connection in _connections.Snapshot())
        {
            connection.CloseForShutdown();
        }
        int aborted = 0;
        if (!_connections.IsEmpty)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Options.ShutdownTimeout);
            try
            {
                await _drained.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                foreach (WebSocketConnection connection in _connections.Snapshot())
                {
                    aborted++;
                    connection.Abort();
                }
                await _drained.Task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            }
        }
        Volatile.Write(ref _state, (int)ServerState.Stopped);
        _timerThread?.Join();
        _loops?.Stop();
        ServerLog.ServerStopped(Logger, aborted);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _state, (int)ServerState.Stopped, (int)ServerState.New) != (int)ServerState.New)
        {
            await StopAsync().ConfigureAwait(false);
        }
        _settings.Compression?.Pool.Dispose(); // pooled zlib streams hold native memory: freed now, not by finalizers
        Metrics.Dispose();
    }


    /// <summary>Counts an upgrade against <see cref="WebSocketServerOptions.MaxConnections"/>; false when the server is full.</summary>
    internal bool TryReserveConnection()
    {
        int max = Options.MaxConnections;
        int current = Volatile.Read(ref _openConnections);
        while (max == 0 || current < max)
        {
            int seen = Interlocked.CompareExchange(ref _openConnections, current + 1, current);
            if (seen == current)
            {
                return true;
            }
            current = seen;
        }
        return false;
    }

    internal void ReleaseConnection() => Interlocked.Decrement(ref _openConnections);

    internal void OnConnectionEnded(WebSocketConnection connection)
    {
        if (_connections.Remove(connection) && State >= ServerState.Stopping)
        {
            _drained.TrySetResult();
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        DescriptorBudget budget = Buffers.Descriptors;
        while (!_stopping.IsCancellationRequested)
        {
            // Taken before the accept, as the Linux loops do: at the budget newcomers wait in the kernel's accept queue.
            if (!budget.TryTake())
            {
                if (!await budget.WaitAsync(_stopping.Token).ConfigureAwait(false))
                {
                    return;
                }
                continue;
            }
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
            {
                budget.Return();
                return;
            }
            catch (SocketException exception)
            {
                budget.Return();
                ServerLog.AcceptFailed(Logger, exception.SocketErrorCode);
                // A connection reset before we accepted it, or fd exhaustion: keep serving the others.
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }
            StartConnection(Options.Tls is { } tls
                ? new TlsConnection(socket, tls, Buffers) { CountsDescriptor = true }
                : new SocketConnection(socket, Buffers) { CountsDescriptor = true });
        }
    }

    internal void StartConnection(TransportConnection transport)
    {
        long id = Interlocked.Increment(ref _nextId);
        // Not pooled: any thread may send through a connection's session until the connection is gone, so a session
        // must never serve another connection. Its buffers are pooled instead, and an allocation per connection is noise
        // next to the accept.
        var session = new WebSocketSession(transport.Output);
        var connection = new WebSocketConnection(id, session);
        session.Start(connection, _settings, Clock()); // first: the connection reaches this server through its session
        _connections.Add(connection);
        transport.Start(session);
        if (State >= ServerState.Stopping)
        {
            connection.CloseForShutdown();
        }
    }

    private void StartTimer()
    {
        _timerThread = new Thread(() =>
        {
            int sleep = Math.Max(1, (int)Options.TimerResolution.TotalMilliseconds);
            DuplexConnection.SendOnThisThread(); // pings and timeout closes leave from here, not through the thread pool
            while (State != ServerState.Stopped)
            {
                Thread.Sleep(sleep);
                // A callback that throws is logged by the wheel, which goes on with the others (TimerCallbackFailed).
                Wheel.Advance(Clock());
            }
        })
        {
            IsBackground = true,
            Name = "ws-timer-wheel",
        };
        _timerThread.Start();
    }

    private static SessionSettings SessionSettingsFrom(WebSocketServerOptions options) => new(
        options.MaxMessageSize,
        options.MaxRequestHeadSize,
        options.MessageDelivery == MessageDelivery.Streamed,
        (long)options.HandshakeTimeout.TotalMilliseconds,
        (long)options.HeartbeatInterval.TotalMilliseconds,
        (long)options.HeartbeatTimeout.TotalMilliseconds,
        (long)options.CloseTimeout.TotalMilliseconds,
        (long)options.IdleTimeout.TotalMilliseconds,
        options.MaxFragmentsPerMessage,
        SessionCompression.From(options.Compression));

    int IServerGauges.ChannelCount => PubSub.ChannelCount;

    long IServerGauges.Deliveries => PubSub.Deliveries;

    int IServerGauges.ScheduledTimers => Wheel.Scheduled;

    (long Total, long Max) IServerGauges.SendQueueBytes() => _connections.SendQueueBytes();

    private void EnsureRunning()
    {
        if (State != ServerState.Running)
        {
            throw new InvalidOperationException("The server is not running.");
        }
    }

    /// <summary>The server's lifecycle; it only moves forward (a stopped server does not start again).</summary>
    private enum ServerState
    {
        New,
        Running,
        Stopping,
        Stopped,
    }
}
