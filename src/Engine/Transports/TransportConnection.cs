using System.Net;

namespace Engine.Transports;

/// <summary>One connection's byte mover, as the layers above see it. Implementations: <see cref="DuplexConnection"/> (portable: sockets, streams, TLS) and <see cref="Linux.LinuxConnection"/> (the io_uring and epoll loops).</summary>
internal abstract class TransportConnection
{
    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>Starts moving bytes for <paramref name="handler"/>.</summary>
    public abstract void Start(ITransportHandler handler);

    /// <summary>Asks for queued bytes to be sent. Any thread; cheap when a flush is already due.</summary>
    public abstract void RequestFlush();

    /// <summary>Drops the connection without a handshake. Any thread.</summary>
    public abstract void Abort();
}
