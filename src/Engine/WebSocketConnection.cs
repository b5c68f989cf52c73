using System.Buffers;
using System.Net;
using System.Text;
using Engine.Buffers;
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
/// <remarks>
/// The facade between the application and the engine: what the application calls goes down to the session (which
/// frames) and the transport (which moves bytes); what the session reports comes up through <see cref="ISessionHost"/>
/// and goes on to the handler. Nothing calls back into it from below a second time.
/// </remarks>
public sealed partial class WebSocketConnection : ISessionHost
{
    private readonly WebSocketSession _session;
    private CloseCode _closeCode = CloseCode.AbnormalClosure;
    private bool _opened;
    private bool _compressed;
    private byte _ended; // a byte, not an int: the object is 8 bytes smaller (memory per idle connection)
    private Extras? _extras; // channels joined, a close reason, a subprotocol past the server's table: made at the first need (.Extras.cs)
    private bool _reserved;
    private byte _subprotocol; // a number of the server's SubprotocolNames (memory per idle connection); 0: none, or in the side object

    // Links of the server's ConnectionRegistry (intrusive: no node object per connection). Guarded by the registry's lock.
    internal WebSocketConnection? RegistryPrevious;
    internal WebSocketConnection? RegistryNext;
    internal bool IsRegistered;

    internal WebSocketConnection(long id, WebSocketSession session)
    {
        Id = id;
        _session = session;
    }

    // Through the session, which writes to it (the server starts the session on this transport before anything here runs):
    // one reference less per connection (memory per idle connection).
    private TransportConnection Transport => (TransportConnection)_session.Output;

    /// <summary>The server this connection belongs to (for example to reach its <see cref="WebSocketServer.PubSub"/>).</summary>
    /// <remarks>Reached through the session's per-server settings, not a field of each connection (memory per idle connection).</remarks>
    public WebSocketServer Server => (WebSocketServer)_session.Settings.Owner!;

    /// <summary>A number unique within the server.</summary>
    public long Id { get; }

    /// <summary>The peer's address, when known.</summary>
    public EndPoint? RemoteEndPoint => Transport.RemoteEndPoint;

    /// <summary>The subprotocol agreed in the handshake, or null.</summary>
    public string? Subprotocol => _subprotocol != 0 ? Server.Subprotocols[_subprotocol] : Volatile.Read(ref _extras)?.Subprotocol;

    /// <summary>Free for the application (for example the authenticated user).</summary>
    public object? UserState { get; set; }

    /// <summary>Bytes queued for sending and not yet handed to the kernel.</summary>
    public long BufferedAmount => Transport.Output.BufferedBytes;

    /// <summary>Whether permessage-deflate (RFC 7692) was agreed in the handshake.</summary>
    public bool IsCompressed => _compressed;

    /// <summary>Whether messages can still be sent (open, and no close frame queued).</summary>
    public bool IsOpen => _opened && !Transport.Output.IsCompleted;

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
        WebSocketServer server = Server;
        EnqueueResult result = _session.Send(payload, type, server.Options.MaxBufferedBytes);
        if (result == EnqueueResult.Queued)
        {
            server.Metrics.Sent(1, payload.Length); // the application's bytes, not the compressed ones
        }
        return Complete(result);
    }

    /// <summary>Maps what the output did with a send to the application's answer, applying the slow-consumer policy.</summary>
    private SendStatus Complete(EnqueueResult result)
    {
        if (result == EnqueueResult.Queued)
        {
            return SendStatus.Queued;
        }
        if (result == EnqueueResult.OverLimit)
        {
            Server.Metrics.Dropped(1);
            SlowConsumerPolicy policy = Server.Options.SlowConsumerPolicy;
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
        if (!_session.Close(code, reason, Server.Clock()))
        {
            return false;
        }
        _closeCode = code;
        CloseReason = reason;
        return true;
    }

    /// <summary>
    /// Completes when <see cref="BufferedAmount"/> has dropped to <paramref name="bytes"/> or below (at once if it is):
    /// the way to stream a large response with flat memory. Fails with <see cref="InvalidOperationException"/> if the
    /// connection ends first. One pending call per connection. A negative <paramref name="bytes"/> throws
    /// <see cref="ArgumentOutOfRangeException"/> (the buffer can never drop below zero).
    /// </summary>
    public Task WhenBufferedBelowAsync(long bytes, CancellationToken cancellationToken = default) =>
        Transport.Output.WhenBufferedBelowAsync(bytes, cancellationToken);

    /// <summary>Drops the TCP connection at once, without a close handshake.</summary>
    public void Abort() => Transport.Abort();

    /// <inheritdoc/>
    public override string ToString() => $"ws#{Id} {RemoteEndPoint}";

    internal bool HasEnded => Volatile.Read(ref _ended) != 0;

    /// <summary>The agreed permessage-deflate state (pub/sub reads it to share compressed frames), or null.</summary>
    internal Compression.PerMessageDeflate? Deflate => _session.Deflate;

    /// <summary>Queues a frame shared with other connections (pub/sub); applies the slow-consumer policy.</summary>
    internal SendStatus SendShared(SharedBuffer frame)
    {
        if (!_opened)
        {
            return SendStatus.Closed;
        }
        return Complete(_session.SendShared(frame, Server.Options.MaxBufferedBytes));
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

    void ISessionHost.OnEnded(Exception? error)
    {
        if (Interlocked.Exchange(ref _ended, (byte)1) != 0)
        {
            return;
        }
        WebSocketServer server = Server;
        server.PubSub.RemoveAll(this);
        if (_reserved)
        {
            server.ReleaseConnection();
        }
        if (error is not null)
        {
            ServerLog.TransportError(server.Logger, Id, error);
        }
        if (error is not null && _opened)
        {
            InvokeSafely(static (h, c, e) => h.OnError(c, e!), error, "OnError");
        }
        if (_opened)
        {
            server.Metrics.Closed(_closeCode);
            ServerLog.ConnectionClosed(server.Logger, Id, (int)_closeCode, CloseReason);
            InvokeSafely(static (h, c, _) => h.OnClose(c, c._closeCode, c.CloseReason), null, "OnClose");
        }
        server.OnConnectionEnded(this);
    }

    UpgradeDecision ISessionHost.OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head)
    {
        UpgradeDecision decision = Server.DecideUpgrade(new RequestHead(buffer, in head, this), Id);
        if (decision.IsAccepted)
        {
            Adopt(decision, Server.Subprotocols);
        }
        return decision;
    }

    /// <summary>Takes on an accepted decision: the reservation against MaxConnections (released when the connection ends), subprotocol, state.</summary>
    internal void Adopt(in UpgradeDecision decision, SubprotocolNames names)
    {
        _reserved = true;
        if (decision.Subprotocol is { } subprotocol)
        {
            _subprotocol = names.Number(subprotocol);
            if (_subprotocol == 0)
            {
                MadeExtras.Subprotocol = subprotocol; // the server's table is full
            }
        }
        UserState = decision.State;
    }

    HttpResponse? ISessionHost.OnHttpRequest(ReadOnlySpan<byte> buffer, in HttpRequestHead head)
    {
        try
        {
            return Server.Handler.OnHttpRequest(new RequestHead(buffer, in head, this));
        }
        catch (Exception exception)
        {
            ServerLog.HandlerFailed(Server.Logger, "OnHttpRequest", Id, exception);
            throw;
        }
    }

    void ISessionHost.OnHandshakeRejected(int status, HandshakeRejection reason) => Server.OnHandshakeRejected(this, null, status, reason);

    void ISessionHost.OnProtocolError(ProtocolError error) =>
        ServerLog.ProtocolError(Server.Logger, Id, error.Describe(), (int)error.ToCloseCode());

    void ISessionHost.OnOpen()
    {
        _compressed = _session.Deflate is not null;
        _opened = true;
        Server.Metrics.Opened();
        ILogger logger = Server.Logger;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            ServerLog.ConnectionOpened(logger, Id, RemoteEndPoint, Subprotocol);
        }
        InvokeSafely(static (h, c, _) => h.OnOpen(c), null, "OnOpen");
    }

    void ISessionHost.OnMessage(ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage)
    {
        WebSocketServer server = Server;
        server.Metrics.Received(payload.Length, endOfMessage);
        try
        {
            if (server.Options.MessageDelivery == MessageDelivery.Whole)
            {
                server.Handler.OnMessage(this, payload, type);
            }
            else
            {
                server.Handler.OnMessageFragment(this, payload, type, endOfMessage);
            }
        }
        catch (Exception exception)
        {
            OnHandlerFailed(exception, server.Options.MessageDelivery == MessageDelivery.Whole ? "OnMessage" : "OnMessageFragment");
        }
    }

    void ISessionHost.OnClosed(CloseCode code, ReadOnlySpan<byte> reason)
    {
        // The first close wins: ours if we closed first (recorded in Close), else the peer's or the failure's.
        if (_closeCode == CloseCode.AbnormalClosure)
        {
            _closeCode = code;
            CloseReason = Encoding.UTF8.GetString(reason);
        }
    }

    void ISessionHost.OnTimeout(SessionTimeout timeout)
    {
        if (!_opened && timeout == SessionTimeout.Handshake)
        {
            ((ISessionHost)this).OnHandshakeRejected(0, HandshakeRejection.Timeout);
        }
        string reason = timeout.Describe();
        ServerLog.ConnectionTimedOut(Server.Logger, Id, reason);
        if (_closeCode == CloseCode.AbnormalClosure)
        {
            CloseReason = reason;
        }
        Transport.Abort();
    }

    private void OnHandlerFailed(Exception exception, string callback)
    {
        ServerLog.HandlerFailed(Server.Logger, callback, Id, exception);
        try
        {
            Server.Handler.OnError(this, exception);
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
            callback(Server.Handler, this, argument);
        }
        catch (Exception exception)
        {
            OnHandlerFailed(exception, name);
        }
    }
}
