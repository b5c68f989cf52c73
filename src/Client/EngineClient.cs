using System.Text.Json;

namespace Engine.Client;

/// <summary>
/// A reconnecting client for the Host's application protocol, with the browser client's semantics: reconnects after
/// unexpected closes (never after <see cref="CloseAsync"/> or 4001) with exponential backoff and jitter, re-authenticates
/// (token as the first message) and re-subscribes on every reconnect, closes with 4000 when a ping gets no pong in time,
/// and queues sends made while not ready in a bounded queue flushed on (re)connect (full: the send throws
/// <see cref="EngineClientException"/> <see cref="EngineClientErrorKind.QueueFull"/> and <see cref="Error"/> is raised).
/// On a server that keeps channel history, it tracks each channel's position (the last offset seen and the epoch) and
/// re-subscribes after a reconnect from there, so the server sends what was missed; <see cref="Subscribed"/> tells
/// whether that recovery was complete.
/// Methods are thread-safe. Events run on the client's receive task: do not block in them.
/// </summary>
public sealed partial class EngineClient : IAsyncDisposable
{
    private readonly EngineClientOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1); // orders sends, the queue, and the switch to ready
    private readonly Queue<(Opcode Type, byte[] Payload)> _queue = new();
    private readonly HashSet<string> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HistoryPosition> _positions = new(StringComparer.Ordinal); // under lock (_channels)
    private readonly Lock _pongLock = new();
    private readonly List<TaskCompletionSource> _pongWaiters = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstOpen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebSocketClientConnection? _connection;
    private bool _ready;
    private volatile bool _closing;
    private volatile bool _heartbeatTimedOut;
    private Task? _loop;
    private int _attempt;

    /// <summary>Creates a client; <see cref="StartAsync"/> connects.</summary>
    public EngineClient(EngineClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Uri.Query.Contains("token=", StringComparison.Ordinal))
        {
            throw new ArgumentException("put the token in Token or TokenProvider, not in the URL", nameof(options));
        }
        _options = options;
    }

    /// <summary>Ready: connected, authenticated (with a token), channels re-subscribed, queue flushed.</summary>
    public event Action? Opened;

    /// <summary>A connection ended: close code (1006 when it dropped, 4000 on heartbeat timeout) and reason.</summary>
    public event Action<int, string>? Closed;

    /// <summary>A reconnection is scheduled: attempt number (1-based) and delay.</summary>
    public event Action<int, TimeSpan>? Reconnecting;

    /// <summary>Something went wrong (server error messages included).</summary>
    public event Action<EngineClientException>? Error;

    /// <summary>A JSON <c>message</c> from a channel.</summary>
    public event Action<ChannelMessage>? MessageReceived;

    /// <summary>A binary channel message (envelope kind 0x02, or 0x04 with its history offset).</summary>
    public event Action<ChannelBinary>? BinaryReceived;

    /// <summary>
    /// A <c>subscribed</c> answer: the first one of a channel, and one after every reconnect. After a reconnect on a server
    /// with history, <see cref="ChannelSubscribed.Recovered"/> says whether every missed message was delivered (they
    /// arrive before this event, as ordinary <see cref="MessageReceived"/>/<see cref="BinaryReceived"/> with offsets).
    /// </summary>
    public event Action<ChannelSubscribed>? Subscribed;

    /// <summary>Every JSON message from the server (valid only during the call).</summary>
    public event Action<JsonElement>? ServerMessage;

    /// <summary>The current state.</summary>
    public EngineClientState State { get; private set; }

    /// <summary>The server's id for the current connection.</summary>
    public string? ConnectionId { get; private set; }

    /// <summary>The authenticated user.</summary>
    public string? User { get; private set; }

    /// <summary>The subprotocol the server selected on the current connection.</summary>
    public string? Subprotocol => _connection?.Subprotocol;

    /// <summary>The channels joined now or re-joined on the next connect.</summary>
    public IReadOnlyCollection<string> Channels
    {
        get
        {
            lock (_channels)
            {
                return [.. _channels];
            }
        }
    }

    /// <summary>
    /// Where <paramref name="channel"/> resumes after a reconnect: the last offset seen and the history's epoch; null
    /// when the server keeps no history (or the channel is not joined).
    /// </summary>
    public HistoryPosition? GetPosition(string channel)
    {
        lock (_channels)
        {
            return _positions.TryGetValue(channel, out HistoryPosition position) ? position : null;
        }
    }

    /// <summary>Messages waiting for the connection.</summary>
    public int Queued
    {
        get
        {
            lock (_queue)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Starts connecting; completes when the client is first ready, faults if it closes for good before that.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("already started");
        }
        // Connecting from now on, not from whenever the loop first runs: a send right after StartAsync is queued.
        State = EngineClientState.Connecting;
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return _firstOpen.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Joins a channel; it is re-joined after every reconnect until <see cref="UnsubscribeAsync"/>.</summary>
    public async Task SubscribeAsync(string channel)
    {
        if (!HostProtocol.IsValidChannel(channel))
        {
            throw new ArgumentException($"invalid channel name: {channel}", nameof(channel));
        }
        lock (_channels)
        {
            _channels.Add(channel);
        }
        // Not queued when offline: BecomeReadyAsync subscribes every channel in the set.
        await SendIfReadyAsync(HostProtocol.Subscribe(channel)).ConfigureAwait(false);
    }

    /// <summary>Leaves a channel.</summary>
    public async Task UnsubscribeAsync(string channel)
    {
        bool removed;
        lock (_channels)
        {
            removed = _channels.Remove(channel);
            _positions.Remove(channel); // joined again later: from now, not from where it was left
        }
        if (removed)
        {
            await SendIfReadyAsync(HostProtocol.Message("unsubscribe", "channel", channel)).ConfigureAwait(false);
        }
    }

    /// <summary>Publishes a string to a channel (as a JSON string).</summary>
    public Task PublishAsync(string channel, string text) => PublishJsonAsync(channel, JsonSerializer.Serialize(text, ClientJsonContext.Default.String));

    /// <summary>Publishes a JSON value (relayed byte for byte by the Host).</summary>
    public Task PublishJsonAsync(string channel, string contentJson) => SendAsync(Opcode.Text, HostProtocol.Publish(channel, contentJson));

    /// <summary>Publishes bytes in the binary envelope (kind 0x01).</summary>
    public Task PublishBinaryAsync(string channel, ReadOnlySpan<byte> payload) => SendAsync(Opcode.Binary, HostProtocol.EncodeChannelEnvelope(channel, payload));

    /// <summary>Sends <c>{"type":"ping"}</c> and completes at the next <c>pong</c>; canceled when the connection closes first.</summary>
    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        var pong = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pongLock)
        {
            _pongWaiters.Add(pong);
        }
        await SendAsync(Opcode.Text, HostProtocol.Message("ping")).ConfigureAwait(false);
        await pong.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a message now when ready, else queues it. Throws <see cref="EngineClientException"/> (QueueFull, NotConnected).</summary>
    public async Task SendAsync(Opcode type, byte[] payload)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_ready && _connection is { } connection)
            {
                await connection.SendAsync(type, payload).ConfigureAwait(false);
                return;
            }
            if (_closing || State is EngineClientState.Closed or EngineClientState.Idle)
            {
                throw Fail(new EngineClientException(EngineClientErrorKind.NotConnected, "the client is not started or closed"));
            }
            lock (_queue)
            {
                if (_queue.Count >= _options.MaxQueue)
                {
                    throw Fail(new EngineClientException(EngineClientErrorKind.QueueFull, $"outgoing queue is full ({_options.MaxQueue} messages)"));
                }
                _queue.Enqueue((type, payload));
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes for good with 1000: no reconnection; waits for the receive loop to end.</summary>
    public async Task CloseAsync()
    {
        _closing = true;
        WebSocketClientConnection? connection = _connection;
        if (connection is not null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await connection.CloseAsync(1000, "", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        // Give the server a moment to answer the close, then stop whatever is left.
        if (_loop is not null && await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(3))).ConfigureAwait(false) != _loop)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            _connection?.Abort();
            await _loop.ConfigureAwait(false);
        }
        State = EngineClientState.Closed;
        _firstOpen.TrySetException(new EngineClientException(EngineClientErrorKind.NotConnected, "closed before it opened"));
    }

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task SendIfReadyAsync(byte[] payload)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_ready && _connection is { } connection)
            {
                await connection.SendAsync(Opcode.Text, payload).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private EngineClientException Fail(EngineClientException error)
    {
        Error?.Invoke(error);
        return error;
    }
}
