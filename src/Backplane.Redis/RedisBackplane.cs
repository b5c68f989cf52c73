using System.Collections.Concurrent;
using System.Threading.Channels;
using StackExchange.Redis;

namespace Engine.Backplane;

/// <summary>
/// An <see cref="IPubSubBackplane"/> over Redis pub/sub (StackExchange.Redis): every publish goes to the Redis channel
/// <c>{prefix}{channel}</c> in a <see cref="BackplaneEnvelope"/>; a node subscribes to a Redis channel only while the
/// channel has local subscribers. Messages of one Redis channel are handled in order (one queue per channel), so
/// subscribers see each publisher's messages in publish order.
/// <para>
/// Failure: the connection is made in the background and re-made with exponential backoff (StackExchange.Redis restores
/// the subscriptions); while Redis is down local delivery goes on, publishes are counted in
/// <see cref="UndeliveredMessages"/> and dropped (never queued to arrive minutes late).
/// </para>
/// </summary>
public sealed class RedisBackplane : IPubSubBackplane
{
    private readonly RedisBackplaneOptions _options;
    private readonly Channel<string> _interest = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, ChannelMessageQueue> _subscribed = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private PubSub? _pubSub;
    private ConnectionMultiplexer? _redis;
    private ISubscriber? _subscriber;
    private Task? _loop;
    private long _undelivered;
    private long _received;

    /// <summary>Creates the backplane; nothing connects before <see cref="PubSub.UseBackplane"/> attaches it.</summary>
    public RedisBackplane(RedisBackplaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <inheritdoc/>
    public Guid NodeId { get; } = Guid.NewGuid();

    /// <inheritdoc/>
    public bool IsConnected => _redis is { IsConnected: true };

    /// <inheritdoc/>
    public long UndeliveredMessages => Interlocked.Read(ref _undelivered);

    /// <inheritdoc/>
    public long ReceivedMessages => Interlocked.Read(ref _received);

    /// <summary>Redis channels this node is subscribed to now.</summary>
    public int SubscribedChannels => _subscribed.Count;

    /// <summary>Completes once the first connection attempt has been made (connected or not).</summary>
    public Task Started { get; private set; } = Task.CompletedTask;

    /// <inheritdoc/>
    public void Attach(PubSub pubSub)
    {
        ArgumentNullException.ThrowIfNull(pubSub);
        if (Interlocked.CompareExchange(ref _pubSub, pubSub, null) is not null)
        {
            throw new InvalidOperationException("This backplane is already attached.");
        }
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Started = connected.Task;
        _loop = Task.Run(() => RunAsync(connected));
    }

    /// <inheritdoc/>
    public void ChannelInterestChanged(string channel) => _interest.Writer.TryWrite(channel);

    /// <inheritdoc/>
    public bool Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, long senderId)
    {
        ISubscriber? subscriber = _subscriber;
        if (subscriber is null || !IsConnected)
        {
            Interlocked.Increment(ref _undelivered);
            return false;
        }
        byte[] envelope = BackplaneEnvelope.Create(NodeId, senderId, payload, type);
        try
        {
            Task<long> sent = subscriber.PublishAsync(RedisChannel.Literal(_options.Prefix + channel), envelope);
            if (!sent.IsCompletedSuccessfully)
            {
                sent.ContinueWith(static (task, state) => ((RedisBackplane)state!).CountFailure(task), this,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
            }
        }
        catch (RedisException)
        {
            Interlocked.Increment(ref _undelivered);
        }
        return false;
    }

    /// <summary>Unsubscribes and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _interest.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        if (_redis is not null)
        {
            await _redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    private void CountFailure(Task task)
    {
        _ = task.Exception; // observed: a publish lost to a dropped connection is counted, not thrown
        Interlocked.Increment(ref _undelivered);
    }

    private async Task RunAsync(TaskCompletionSource connected)
    {
        try
        {
            ConfigurationOptions configuration = ConfigurationOptions.Parse(_options.Configuration);
            // Start with Redis down, and come back when it does: background reconnects with exponential backoff.
            configuration.AbortOnConnectFail = false;
            configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 10_000);
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            configuration.ClientName ??= "engine-" + NodeId.ToString("N")[..8];
            _redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
            _subscriber = _redis.GetSubscriber();
            // A subscription that failed while Redis was down is retried when it is back.
            _redis.ConnectionRestored += (_, _) => RecheckAll();
        }
        finally
        {
            connected.TrySetResult();
        }

        try
        {
            await foreach (string channel in _interest.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                await ReconcileAsync(channel).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private void RecheckAll()
    {
        foreach (string channel in _pubSub!.Channels())
        {
            _interest.Writer.TryWrite(channel);
        }
    }

    // Single reader: the broker subscription of a channel follows its local subscriber count, however fast it flips.
    private async Task ReconcileAsync(string channel)
    {
        bool wanted = _pubSub!.SubscriberCount(channel) > 0;
        bool subscribed = _subscribed.TryGetValue(channel, out ChannelMessageQueue? queue);
        try
        {
            if (wanted && !subscribed)
            {
                queue = await _subscriber!.SubscribeAsync(RedisChannel.Literal(_options.Prefix + channel)).ConfigureAwait(false);
                queue.OnMessage(message => Receive(channel, message.Message));
                _subscribed[channel] = queue;
            }
            else if (!wanted && subscribed)
            {
                _subscribed.TryRemove(channel, out _);
                await queue!.UnsubscribeAsync().ConfigureAwait(false);
            }
        }
        catch (RedisException)
        {
            // Redis is down: ConnectionRestored re-checks every channel.
        }
    }

    private void Receive(string channel, RedisValue message)
    {
        if (!BackplaneEnvelope.TryRead((byte[])message!, out Guid origin, out _, out MessageType type, out ReadOnlySpan<byte> payload)
            || origin == NodeId)
        {
            return; // our own publish: delivered locally already
        }
        Interlocked.Increment(ref _received);
        _pubSub!.DeliverLocal(channel, payload, type);
    }
}
