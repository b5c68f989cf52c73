using System.Buffers;
using System.Net;
using System.Text;
using Engine.Protocol;
using Engine.Runtime;
using Engine.Session;
using Engine.Transports;
using Microsoft.Extensions.Logging;

namespace Engine;

/// <summary>
/// One WebSocket connection, handed to the <see cref="IWebSocketHandler"/> callbacks. Thread-safe: any thread may
/// send, close or abort. After the connection has closed, sends return <see cref="SendStatus.Closed"/>.
/// </summary>
public sealed class WebSocketConnection : ISessionHost, ITransportHandler
{
    private readonly WebSocketServer _server;
    private readonly TransportConnection _transport;
    private readonly OutboundQueue _output;
    private WebSocketSession? _session;
    private CloseCode _closeCode = CloseCode.AbnormalClosure;
    private string _closeReason = "";
    private bool _opened;
    private int _ended;
    private List<string>? _subscriptions;
    private bool _reserved;
    private bool _receiving;
    private bool _sessionReturnDeferred;
    private Compression.PerMessageDeflate? _deflate;

    // Links of the server's ConnectionRegistry (intrusive: no node object per connection). Guarded by the registry's lock.
    internal WebSocketConnection? RegistryPrevious;
    internal WebSocketConnection? RegistryNext;
    internal bool IsRegistered;

    internal WebSocketConnection(WebSocketServer server, long id, TransportConnection transport, WebSocketSession session)
    {
        _server = server;
        Id = id;
        _transport = transport;
        _output = new OutboundQueue(server.Pool, server.SegmentLists);
        _session = session;
    }

    // Guards the pooled session and the subscription list (rare operations). The transport object is internal and never
    // locked elsewhere, so it serves as the monitor and each connection saves a lock object (memory per idle connection).
    private object SessionLock => _transport;

    /// <summary>The server this connection belongs to (for example to reach its <see cref="WebSocketServer.PubSub"/>).</summary>
    public WebSocketServer Server => _server;

    /// <summary>A number unique within the server.</summary>
    public long Id { get; }

    /// <summary>The peer's address, when known.</summary>
    public EndPoint? RemoteEndPoint => _transport.RemoteEndPoint;

    /// <summary>The subprotocol agreed in the handshake, or null.</summary>
    public string? Subprotocol { get; private set; }

    /// <summary>Free for the application (for example the authenticated user).</summary>
    public object? UserState { get; set; }

    /// <summary>Bytes queued for sending and not yet handed to the kernel.</summary>
    public long BufferedAmount => _output.BufferedBytes;

    /// <summary>Whether permessage-deflate (RFC 7692) was agreed in the handshake.</summary>
    public bool IsCompressed => _deflate is not null;

    /// <summary>Whether messages can still be sent (open, and no close frame queued).</summary>
    public bool IsOpen => _opened && !_output.IsCompleted;

    /// <summary>
    /// Queues a message. The payload is copied, so the caller may reuse its buffer at once. Thread-safe. Returns
    /// <see cref="SendStatus.Backpressure"/> when the peer does not read fast enough (see <see cref="WebSocketServerOptions.SlowConsumerPolicy"/>).
    /// </summary>
    public SendStatus Send(ReadOnlySpan<byte> payload, MessageType type)
    {
        if (!_opened)
        {
            return SendStatus.Closed;
        }
        Compression.PerMessageDeflate? deflate = _deflate;
        if (deflate is not null && payload.Length >= deflate.Threshold)
        {
            return SendCompressed(deflate, payload, type);
        }
        EnqueueResult result = _output.TryEnqueueFrame((Opcode)type, payload, _server.Options.MaxBufferedBytes, final: false, out bool flush);
        if (result == EnqueueResult.Queued)
        {
            _server.Metrics.Sent(1, payload.Length);
        }
        return Complete(result, flush);
    }

    /// <summary>
    /// Compresses and queues under the connection's deflate lock, so with context takeover frames enter the queue in
    /// the order their compression context was built. At the server's compression cap the message goes out plain.
    /// </summary>
    private SendStatus SendCompressed(Compression.PerMessageDeflate deflate, ReadOnlySpan<byte> payload, MessageType type)
    {
        EnqueueResult result;
        bool flush;
        lock (deflate)
        {
            if (!deflate.TryCompress(payload, out byte[] compressed, out int length))
            {
                result = _output.TryEnqueueFrame((Opcode)type, payload, _server.Options.MaxBufferedBytes, final: false, out flush);
            }
            else
            {
                try
                {
                    // RFC 7692 §6: RSV1 on the (only) frame of a compressed message.
                    result = _output.TryEnqueueFrame((Opcode)type, compressed.AsSpan(0, length), _server.Options.MaxBufferedBytes, final: false, out flush, rsv: 4);
                    if (result != EnqueueResult.Queued)
                    {
                        deflate.DiscardContext();
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(compressed);
                }
            }
        }
        if (result == EnqueueResult.Queued)
        {
            _server.Metrics.Sent(1, payload.Length); // the application's bytes, not the compressed ones
        }
        return Complete(result, flush);
    }

    private SendStatus Complete(EnqueueResult result, bool flush)
    {
        if (result == EnqueueResult.Queued)
        {
            if (flush)
            {
                _transport.RequestFlush();
            }
            return SendStatus.Queued;
        }
        if (result == EnqueueResult.OverLimit)
        {
            _server.Metrics.Dropped(1);
            SlowConsumerPolicy policy = _server.Options.SlowConsumerPolicy;
            if (policy != SlowConsumerPolicy.FailSend)
            {
                Close(policy == SlowConsumerPolicy.ClosePolicyViolation ? CloseCode.PolicyViolation : CloseCode.TryAgainLater, "slow consumer");
            }
            return SendStatus.Backpressure;
        }
        return SendStatus.Closed;
    }

    /// <summary>Queues a text message, encoding <paramref name="text"/> as UTF-8 through a pooled buffer.</summary>
    public SendStatus SendText(ReadOnlySpan<char> text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int length = Encoding.UTF8.GetBytes(text, buffer);
            return Send(buffer.Slice(0, length), MessageType.Text);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Starts the close handshake with <paramref name="code"/> (1000-1003, 1007-1014 or 3000-4999) and a reason of at
    /// most 123 UTF-8 bytes (longer is cut). Messages queued before stay ahead of the close frame. False when the
    /// connection is already closing. If the peer does not answer within <see cref="WebSocketServerOptions.CloseTimeout"/>, it is dropped.
    /// </summary>
    public bool Close(CloseCode code = CloseCode.NormalClosure, string reason = "")
    {
        if (!CloseCodes.IsSendable(code))
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "not a close code that may be sent");
        }
        lock (SessionLock)
        {
            if (_session is null || !_session.Close(code, reason, _server.Clock()))
            {
                return false;
            }
            _closeCode = code;
            _closeReason = reason;
            return true;
        }
    }

    /// <summary>
    /// Completes when <see cref="BufferedAmount"/> has dropped to <paramref name="bytes"/> or below (at once if it is):
    /// the way to stream a large response with flat memory. Fails with <see cref="InvalidOperationException"/> if the
    /// connection ends first. One pending call per connection.
    /// </summary>
    public Task WhenBufferedBelowAsync(long bytes, CancellationToken cancellationToken = default) =>
        _output.WhenBufferedBelowAsync(bytes, cancellationToken);

    /// <summary>Drops the TCP connection at once, without a close handshake.</summary>
    public void Abort() => _transport.Abort();

    /// <inheritdoc/>
    public override string ToString() => $"ws#{Id} {RemoteEndPoint}";

    internal void Start() => _transport.Start(this);

    internal bool HasEnded => Volatile.Read(ref _ended) != 0;

    /// <summary>The agreed permessage-deflate state (pub/sub reads it to share compressed frames), or null.</summary>
    internal Compression.PerMessageDeflate? Deflate => _deflate;

    /// <summary>Queues a frame shared with other connections (pub/sub); applies the slow-consumer policy.</summary>
    internal SendStatus SendShared(SharedFrame frame)
    {
        if (!_opened)
        {
            return SendStatus.Closed;
        }
        EnqueueResult result = _output.TryEnqueueShared(frame, _server.Options.MaxBufferedBytes, out bool flush);
        return Complete(result, flush);
    }

    internal void AddSubscription(string channel)
    {
        lock (SessionLock)
        {
            (_subscriptions ??= new List<string>()).Add(channel);
        }
    }

    internal void RemoveSubscription(string channel)
    {
        lock (SessionLock)
        {
            _subscriptions?.Remove(channel);
        }
    }

    internal List<string> TakeSubscriptions()
    {
        lock (SessionLock)
        {
            List<string> taken = _subscriptions ?? [];
            _subscriptions = null;
            return taken;
        }
    }

    /// <summary>Server shutdown: 1001 to open connections, abort those still in the handshake.</summary>
    internal void CloseForShutdown()
    {
        if (!_opened)
        {
            Abort();
            return;
        }
        Close(CloseCode.GoingAway, "server shutdown");
    }

    OutboundQueue ITransportHandler.Output => _output;

    bool ITransportHandler.IsFinished => _session is null || _session.State == SessionState.Closed;

    int ITransportHandler.OnReceived(Span<byte> data)
    {
        WebSocketSession? session = _session;
        if (session is null)
        {
            return data.Length;
        }
        _receiving = true;
        try
        {
            return session.Receive(data, _server.Clock());
        }
        finally
        {
            _receiving = false;
            if (_sessionReturnDeferred)
            {
                _server.ReturnSession(session);
            }
        }
    }

    void ITransportHandler.OnTransportClosed(Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }
        WebSocketSession? session;
        lock (SessionLock)
        {
            session = _session;
            _session = null;
        }
        if (session is not null)
        {
            // Aborted from a callback inside Receive (same thread): the session goes back to the pool only once
            // Receive has unwound, so no other connection can pick it up while it is still running.
            if (_receiving)
            {
                _sessionReturnDeferred = true;
            }
            else
            {
                _server.ReturnSession(session);
            }
        }
        _server.PubSub.RemoveAll(this);
        if (_reserved)
        {
            _server.ReleaseConnection();
        }
        if (error is not null)
        {
            ServerLog.TransportError(_server.Logger, Id, error);
        }
        if (error is not null && _opened)
        {
            InvokeSafely(static (h, c, e) => h.OnError(c, e!), error, "OnError");
        }
        if (_opened)
        {
            _server.Metrics.Closed(_closeCode);
            ServerLog.ConnectionClosed(_server.Logger, Id, (int)_closeCode, _closeReason);
            InvokeSafely(static (h, c, _) => h.OnClose(c, c._closeCode, c._closeReason), null, "OnClose");
        }
        _server.OnConnectionEnded(this);
    }

    UpgradeDecision ISessionHost.OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head)
    {
        if (!_server.TryReserveConnection())
        {
            return UpgradeDecision.ServerFull; // 503 over MaxConnections; the open ones are untouched
        }
        UpgradeDecision decision;
        try
        {
            decision = _server.Handler.OnUpgrade(new RequestHead(buffer, in head, this));
        }
        catch (Exception exception)
        {
            _server.ReleaseConnection();
            ServerLog.HandlerFailed(_server.Logger, "OnUpgrade", Id, exception);
            throw;
        }
        if (!decision.IsAccepted)
        {
            _server.ReleaseConnection();
            return decision;
        }
        _reserved = true;
        Subprotocol = decision.Subprotocol;
        UserState = decision.State;
        return decision;
    }

    HttpResponse? ISessionHost.OnHttpRequest(ReadOnlySpan<byte> buffer, in HttpRequestHead head)
    {
        try
        {
            return _server.Handler.OnHttpRequest(new RequestHead(buffer, in head, this));
        }
        catch (Exception exception)
        {
            ServerLog.HandlerFailed(_server.Logger, "OnHttpRequest", Id, exception);
            throw;
        }
    }

    void ISessionHost.OnHandshakeRejected(int status, HandshakeRejection reason)
    {
        _server.Metrics.Rejected(status, reason);
        ILogger logger = _server.Logger;
        if (logger.IsEnabled(LogLevel.Debug)) // the end point is made on first use: not for a log line nobody reads
        {
            ServerLog.HandshakeRejected(logger, RemoteEndPoint, status, ServerMetrics.ReasonName(reason));
        }
    }

    void ISessionHost.OnProtocolError(ProtocolError error) =>
        ServerLog.ProtocolError(_server.Logger, Id, error.Describe(), (int)error.ToCloseCode());

    void ISessionHost.OnOpen()
    {
        _deflate = _session?.Deflate;
        _opened = true;
        _server.Metrics.Opened();
        ILogger logger = _server.Logger;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            ServerLog.ConnectionOpened(logger, Id, RemoteEndPoint, Subprotocol);
        }
        InvokeSafely(static (h, c, _) => h.OnOpen(c), null, "OnOpen");
    }

    void ISessionHost.OnMessage(ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage)
    {
        _server.Metrics.Received(payload.Length, endOfMessage);
        try
        {
            if (_server.Options.MessageDelivery == MessageDelivery.Whole)
            {
                _server.Handler.OnMessage(this, payload, type);
            }
            else
            {
                _server.Handler.OnMessageFragment(this, payload, type, endOfMessage);
            }
        }
        catch (Exception exception)
        {
            OnHandlerFailed(exception, _server.Options.MessageDelivery == MessageDelivery.Whole ? "OnMessage" : "OnMessageFragment");
        }
    }

    void ISessionHost.OnClosed(CloseCode code, ReadOnlySpan<byte> reason)
    {
        // The first close wins: ours if we closed first (recorded in Close), else the peer's or the failure's.
        if (_closeCode == CloseCode.AbnormalClosure)
        {
            _closeCode = code;
            _closeReason = Encoding.UTF8.GetString(reason);
        }
    }

    void ISessionHost.RequestFlush() => _transport.RequestFlush();

    void ISessionHost.OnTimeout(string reason)
    {
        if (!_opened && reason == WebSocketSession.HandshakeTimeout)
        {
            ((ISessionHost)this).OnHandshakeRejected(0, HandshakeRejection.Timeout);
        }
        ServerLog.ConnectionTimedOut(_server.Logger, Id, reason);
        if (_closeCode == CloseCode.AbnormalClosure)
        {
            _closeReason = reason;
        }
        _transport.Abort();
    }

    private void OnHandlerFailed(Exception exception, string callback)
    {
        ServerLog.HandlerFailed(_server.Logger, callback, Id, exception);
        try
        {
            _server.Handler.OnError(this, exception);
        }
        catch (Exception)
        {
            // A failing error handler must not take the I/O thread down.
        }
        Close(CloseCode.InternalError, "internal error");
    }

    private void InvokeSafely(Action<IWebSocketHandler, WebSocketConnection, Exception?> callback, Exception? argument, string name)
    {
        try
        {
            callback(_server.Handler, this, argument);
        }
        catch (Exception exception)
        {
            OnHandlerFailed(exception, name);
        }
    }
}
