using System.Net;
using Engine.Buffers;
using Engine.Session;

namespace Engine.Transports;

/// <summary>
/// One connection's byte mover, as the layers above see it, and what every transport does the same way: it is the
/// connection's <see cref="SendQueue"/> (its base; disposed when the connection is gone), hands each read to the
/// session inside a cork (<see cref="Deliver"/>), and half-closes once the protocol is finished and the queue drained.
/// Implementations: <see cref="DuplexConnection"/> (portable), <see cref="IoUring.UringConnection"/> and
/// <see cref="Epoll.EpollConnection"/> (Linux event loops).
/// </summary>
internal abstract class TransportConnection : SendQueue
{
    // Per-server settings are reached through the queue's one shared ConnectionBuffers, not copied into each
    // connection (memory per idle connection).
    protected TransportConnection(ConnectionBuffers buffers)
        : base(buffers)
    {
    }

    /// <summary>The connection's outgoing bytes (this object: the queue is its base); written by the session, drained and finally disposed by this transport.</summary>
    public SendQueue Output => this;

    public abstract EndPoint? RemoteEndPoint { get; }

    /// <summary>The session this transport feeds; set by <see cref="Start"/>.</summary>
    protected ITransportHandler Handler { get; private set; } = null!;

    /// <summary>Queued bytes above which the transport stops reading (read-side backpressure).</summary>
    protected long MaxBuffered => Output.Buffers.MaxBuffered;

    /// <summary>The server's block pool.</summary>
    protected BlockPool Pool => Output.Buffers.Pool;

    /// <summary>Starts moving bytes for <paramref name="handler"/>.</summary>
    public virtual void Start(ITransportHandler handler) => Handler = handler;

    /// <summary>Asks for queued bytes to be sent. Any thread; cheap when a flush is already due.</summary>
    public abstract void RequestFlush();

    protected sealed override void OnFlushDue() => RequestFlush();

    /// <summary>Drops the connection without a handshake. Any thread.</summary>
    public abstract void Abort();

    /// <summary>
    /// Hands one read to the session, corked so that every reply it writes leaves in one flush after the batch. After
    /// the close handshake, reads are discarded until the peer closes. An exception from the session propagates
    /// (the caller closes the connection with it); the queue is uncorked either way.
    /// </summary>
    protected ReceiveOutcome Deliver(Span<byte> data, out int consumed)
    {
        if (Handler.IsFinished)
        {
            consumed = data.Length;
            return ReceiveOutcome.Finished;
        }
        SendQueue output = Output;
        output.Cork();
        bool flush = false;
        try
        {
            consumed = Handler.OnReceived(data);
        }
        finally
        {
            flush = output.Uncork();
        }
        ReceiveOutcome outcome = flush ? ReceiveOutcome.FlushNeeded : ReceiveOutcome.None;
        if (Handler.IsFinished)
        {
            consumed = data.Length;
            return outcome | ReceiveOutcome.Finished;
        }
        if (output.BufferedBytes > MaxBuffered)
        {
            outcome |= ReceiveOutcome.OverLimit;
        }
        return outcome;
    }

    /// <summary>
    /// Half-closes (TCP FIN) once the protocol is finished and the final bytes are on the wire, so the peer reads
    /// everything before it sees the end; once. Safe from the receive and the flush side at the same time.
    /// </summary>
    protected void TryHalfClose()
    {
        SendQueue output = Output;
        if (!Handler.IsFinished || !output.IsCompleted || output.BufferedBytes != 0 || !MarkHalfClosed())
        {
            return;
        }
        try
        {
            ShutdownSend();
        }
        catch (Exception)
        {
            Abort(); // the peer is gone already
        }
    }

    /// <summary>
    /// Marks the half-close as sent; true only the first time. Any thread. The flag lives in the derived class, among
    /// its own: as a field here it took 8 B per connection with the padding after it (memory per idle connection).
    /// </summary>
    protected abstract bool MarkHalfClosed();

    /// <summary>Sends the TCP FIN (or whatever half-close the transport has).</summary>
    protected abstract void ShutdownSend();
}
