using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using Engine.Timers;
using Engine.Transports.IoUring;
using Engine.Transports.Linux;
using Microsoft.Extensions.Logging;

namespace Engine;

/// <summary>Settings of a <see cref="WebSocketServer"/>. Immutable once the server starts; <see cref="Validate"/> runs at start.</summary>
public sealed record WebSocketServerOptions
{
    /// <summary>Address to bind. <see cref="IPAddress.IPv6Any"/> (the default) listens dual-mode on IPv4 and IPv6.</summary>
    public IPAddress Address { get; init; } = IPAddress.IPv6Any;

    /// <summary>TCP port; 0 picks a free one (read it from <see cref="WebSocketServer.LocalEndPoint"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>
    /// Listen backlog: connections the kernel completes and queues for accept. Reconnect storms (a deploy, a network blip)
    /// arrive faster than any server accepts, and a connection that finds the queue full loses its SYN and waits for the
    /// client's retransmit (1 s, then 3 s); the kernel caps it at net.core.somaxconn (4096 by default since Linux 5.4).
    /// </summary>
    public int Backlog { get; init; } = 4096;

    /// <summary>Accepts kept in flight at once, so a burst of connects is not serialized behind one accept.</summary>
    public int ConcurrentAccepts { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Largest message accepted (after reassembly); a bigger one closes with 1009. Default 16 MiB.</summary>
    public long MaxMessageSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Most frames one message may arrive in; more closes with 1009 (a flood of tiny fragments costs CPU, not memory, so
    /// the default is generous: Autobahn's 9.3.1 sends 4 MiB in 65,536 fragments). Default 131,072.
    /// </summary>
    public int MaxFragmentsPerMessage { get; init; } = 128 * 1024;

    /// <summary>Open WebSocket connections allowed at once; further upgrades get 503 and existing ones are untouched. 0 (the default): no limit.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Largest HTTP request head; a bigger one gets 431. Default 8 KiB.</summary>
    public int MaxRequestHeadSize { get; init; } = 8 * 1024;

    /// <summary>
    /// Time for the opening handshake (slowloris defense); the connection is closed when it runs out. Default 5 s; at most
    /// 24 days, as for every connection timeout below.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Interval between server pings; zero disables heartbeats. Default 30 s.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time a pong may take after a ping before the connection is terminated. Default 10 s. One ping is out at a time: with
    /// a timeout longer than the interval, the next ping waits for the last one's pong.
    /// </summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time the peer has to answer our close frame (or to close TCP after it) before we drop the connection. Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A connection that receives nothing for this long is closed with 1001; zero (the default) disables it.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>How long <see cref="WebSocketServer.StopAsync"/> waits for close replies before aborting. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes a connection may have queued for sending; past it <see cref="SlowConsumerPolicy"/> applies. Default 4 MiB.</summary>
    public long MaxBufferedBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>What happens to a connection that does not read fast enough.</summary>
    public SlowConsumerPolicy SlowConsumerPolicy { get; init; } = SlowConsumerPolicy.FailSend;

    /// <summary>Whole messages or streamed pieces.</summary>
    public MessageDelivery MessageDelivery { get; init; } = MessageDelivery.Whole;

    /// <summary>Size of the pooled receive/send blocks. Default 16 KiB.</summary>
    public int BlockSize { get; init; } = 16 * 1024;

    /// <summary>Resolution of the timer wheel that drives all timeouts. Default 100 ms.</summary>
    public TimeSpan TimerResolution { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The transport. Default <see cref="TransportKind.Auto"/>.</summary>
    public TransportKind Transport { get; init; } = TransportKind.Auto;

    /// <summary>
    /// The transport a server with these options runs on this machine: <see cref="Transport"/> with
    /// <see cref="TransportKind.Auto"/> resolved (io_uring where the kernel allows it, else epoll on Linux x86-64, else
    /// .NET sockets), and <see cref="TransportKind.Sockets"/> whenever <see cref="Tls"/> is set. Known before the start,
    /// so a host can set up the process for it (for example the .NET socket engine's settings, read at the first socket).
    /// </summary>
    public TransportKind ResolvedTransport => Tls is not null ? TransportKind.Sockets : Transport switch
    {
        TransportKind.Auto when UringLoop.IsSupported => TransportKind.IoUring,
        TransportKind.Auto when Native.IsSupported => TransportKind.Epoll,
        TransportKind.Auto => TransportKind.Sockets,
        _ => Transport,
    };

    /// <summary>Event loops of the io_uring and epoll transports. Default: one per core.</summary>
    public int EventLoops { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Receive buffers (16 KiB each) each io_uring loop shares among its connections; a power of two. When all are
    /// taken, receives wait for the end of the loop iteration. Tests shrink it to reach that path.
    /// </summary>
    internal int UringReceiveBuffers { get; init; } = 128;

    /// <summary>Shards of the pub/sub channel registry. Default: one per core.</summary>
    public int PubSubShards { get; init; } = Environment.ProcessorCount;

    /// <summary>permessage-deflate (RFC 7692); off unless <see cref="CompressionOptions.Enabled"/>.</summary>
    public CompressionOptions Compression { get; init; } = new();

    /// <summary>
    /// Serves wss:// (TLS) when set: every accepted connection runs the TLS handshake with these options (certificate or
    /// <see cref="SslServerAuthenticationOptions.ServerCertificateContext"/>, protocols, ALPN, client certificates) before
    /// the HTTP upgrade, within <see cref="HandshakeTimeout"/>. The same instance is used for every connection, so do not
    /// change it after start; for certificate rotation set a
    /// <see cref="SslServerAuthenticationOptions.ServerCertificateSelectionCallback"/>. TLS runs on the portable stream
    /// path (<see cref="SslStream"/> over .NET sockets): <see cref="TransportKind.Auto"/> picks it, and
    /// <see cref="TransportKind.Epoll"/> and <see cref="TransportKind.IoUring"/> are rejected because those transports move
    /// raw descriptors' bytes. Null (the default): plain ws://.
    /// </summary>
    public SslServerAuthenticationOptions? Tls { get; init; }

    /// <summary>
    /// Where the server logs (category <see cref="WebSocketTelemetry.LoggerCategory"/>): start/stop at Information,
    /// connections, rejected handshakes and protocol errors at Debug, handler exceptions at Error. Null (the default): no logging.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Creates the server's meter (<see cref="WebSocketTelemetry.MeterName"/>), for example the one from dependency
    /// injection. Null (the default): the server creates its own meter and disposes it with the server.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// Whether <see cref="WebSocketServer.StartAsync"/> binds <see cref="Address"/>:<see cref="Port"/> (the default).
    /// False: the server listens nowhere and takes connections only through <see cref="WebSocketServer.Accept(System.Net.Sockets.Socket)"/>
    /// and hand-offs (<see cref="WebSocketServer.BeginUpgrade"/>), as under ASP.NET Core, where Kestrel owns the port.
    /// </summary>
    public bool Listen { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Require(Port is >= 0 and <= 65535, nameof(Port), "must be 0-65535");
        Require(Backlog > 0, nameof(Backlog), "must be positive");
        Require(ConcurrentAccepts is > 0 and <= 64, nameof(ConcurrentAccepts), "must be 1-64");
        Require(MaxMessageSize > 0 && MaxMessageSize <= int.MaxValue - 64, nameof(MaxMessageSize), "must be 1 to 2 GiB");
        Require(MaxFragmentsPerMessage > 0, nameof(MaxFragmentsPerMessage), "must be positive");
        Require(MaxConnections >= 0, nameof(MaxConnections), "must not be negative");
        Require(MaxRequestHeadSize >= 256 && MaxRequestHeadSize <= BlockSize, nameof(MaxRequestHeadSize), "must be 256 bytes up to BlockSize");
        Require(HandshakeTimeout > TimeSpan.Zero, nameof(HandshakeTimeout), "must be positive");
        Require(HeartbeatInterval >= TimeSpan.Zero, nameof(HeartbeatInterval), "must not be negative");
        Require(HeartbeatTimeout > TimeSpan.Zero, nameof(HeartbeatTimeout), "must be positive");
        Require(CloseTimeout > TimeSpan.Zero, nameof(CloseTimeout), "must be positive");
        Require(IdleTimeout >= TimeSpan.Zero, nameof(IdleTimeout), "must not be negative");
        // A connection keeps its deadlines as 32-bit clock stamps (memory per idle connection), good for 24.8 days ahead.
        Require(HandshakeTimeout <= ClockStamp.MaxSpan, nameof(HandshakeTimeout), "must be at most 24 days");
        Require(HeartbeatInterval <= ClockStamp.MaxSpan, nameof(HeartbeatInterval), "must be at most 24 days");
        Require(HeartbeatTimeout <= ClockStamp.MaxSpan, nameof(HeartbeatTimeout), "must be at most 24 days");
        Require(CloseTimeout <= ClockStamp.MaxSpan, nameof(CloseTimeout), "must be at most 24 days");
        Require(IdleTimeout <= ClockStamp.MaxSpan, nameof(IdleTimeout), "must be at most 24 days");
        Require(ShutdownTimeout >= TimeSpan.Zero, nameof(ShutdownTimeout), "must not be negative");
        Require(MaxBufferedBytes > 0, nameof(MaxBufferedBytes), "must be positive");
        Require(BlockSize is >= 1024 and <= 1024 * 1024, nameof(BlockSize), "must be 1 KiB to 1 MiB");
        Require(PubSubShards is > 0 and <= 1024, nameof(PubSubShards), "must be 1-1024");
        Require(EventLoops is > 0 and <= 256, nameof(EventLoops), "must be 1-256");
        Require(UringReceiveBuffers is > 0 and <= 32768 && (UringReceiveBuffers & (UringReceiveBuffers - 1)) == 0,
            nameof(UringReceiveBuffers), "must be a power of two up to 32768");
        Require(Transport != TransportKind.Epoll || Native.IsSupported, nameof(Transport), "Epoll needs Linux on x86-64");
        Require(Transport != TransportKind.IoUring || UringLoop.IsSupported, nameof(Transport), "IoUring needs Linux on x86-64 with io_uring allowed (kernel 6.1+)");
        Require(Tls is null || Transport is not (TransportKind.Epoll or TransportKind.IoUring), nameof(Tls),
            "needs TransportKind.Auto or Sockets (the epoll and io_uring transports move raw descriptors' bytes, SslStream needs a stream)");
        Require(Tls is null || Tls.ServerCertificate is not null || Tls.ServerCertificateContext is not null || Tls.ServerCertificateSelectionCallback is not null,
            nameof(Tls), "needs a server certificate, certificate context or selection callback");
        Require(TimerResolution >= TimeSpan.FromMilliseconds(1), nameof(TimerResolution), "must be at least 1 ms");
        Require(Compression is not null, nameof(Compression), "must not be null");
        Compression!.Validate();
    }

    private static void Require(bool condition, string name, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {rule}.", name);
        }
    }
}
