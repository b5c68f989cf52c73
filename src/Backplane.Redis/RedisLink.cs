using System.Collections.Concurrent;
using System.Threading.Channels;
using StackExchange.Redis;

namespace Engine.Backplane;

/// <summary>
/// The connection both Redis backplanes share: connects in the background and again with exponential backoff, keeps
/// one Redis subscription per channel that has local subscribers (a single reader reconciles interest changes, so a
/// channel's broker subscription follows its local subscriber count however fast it flips), and re-checks every
/// channel when the connection comes back.
/// </summary>
internal sealed class RedisLink : IAsyncDisposable
{
    private readonly string _configuration;
    private readonly Guid _nodeId;
    private readonly Func<string, RedisChannel> _redisChannel;
    private readonly Action<string, ChannelMessageQueue> _subscribed;
    private readonly Action? _restored;
    private readonly Channel<string> _interest = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, ChannelMessageQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private PubSub? _pubSub;
    private ConnectionMultiplexer? _redis;
    private Task? _loop;

    /// <param name="configuration">StackExchange.Redis configuration string.</param>
    /// <param name="nodeId">Names the connection in CLIENT LIST.</param>
    /// <param name="redisChannel">The Redis channel that carries a channel's messages.</param>
    /// <param name="subscribed">Called when a channel's Redis subscription is active: attach the handler.</param>
    /// <param name="restored">Called when the connection came back after a failure.</param>
    public RedisLink(string configuration, Guid nodeId, Func<string, RedisChannel> redisChannel, Action<string, ChannelMessageQueue> subscribed, Action? restored = null)
    {
        _configuration = configuration;
        _nodeId = nodeId;
        _redisChannel = redisChannel;
        _subscribed = subscribed;
        _restored = restored;
    }

    public bool IsConnected => _redis is { IsConnected: true };

    /// <summary>For publishes: null until the first connection attempt finished.</summary>
    public ISubscriber? Subscriber { get; private set; }

    /// <summary>For commands and scripts: null until the first connection attempt finished.</summary>
    public IDatabase? Database { get; private set; }

    /// <summary>Channels subscribed at Redis now.</summary>
    public ICollection<string> SubscribedChannels => _queues.Keys;

    /// <summary>Completes once the first connection attempt has been made (connected or not).</summary>
    public Task Started { get; private set; } = Task.CompletedTask;

    public void Start(PubSub pubSub)
    {
        if (Interlocked.CompareExchange(ref _pubSub, pubSub, null) is not null)
        {
            throw new InvalidOperationException("This backplane is already attached.");
        }
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Started = connected.Task;
        _loop = Task.Run(() => RunAsync(connected));
    }

    public void InterestChanged(string channel) => _interest.Writer.TryWrite(channel);

    /// <summary>Completes once the channel's Redis subscription is active (at once if it is).</summary>
    public Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken)
    {
        if (_queues.ContainsKey(channel))
        {
            return Task.CompletedTask;
        }
        TaskCompletionSource waiting = _waiting.GetOrAdd(channel, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        // Subscribed between the first check and the registration: the reconcile may have missed the waiter.
        return _queues.ContainsKey(channel) ? Task.CompletedTask : waiting.Task.WaitAsync(cancellationToken);
    }

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

    private async Task RunAsync(TaskCompletionSource connected)
    {
        try
        {
            ConfigurationOptions configuration = ConfigurationOptions.Parse(_configuration);
            // Start with Redis down, and come back when it does: background reconnects with exponential backoff.
            configuration.AbortOnConnectFail = false;
            configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 10_000);
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            configuration.ClientName ??= "engine-" + _nodeId.ToString("N")[..8];
            _redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
            Subscriber = _redis.GetSubscriber();
            Database = _redis.GetDatabase();
            _redis.ConnectionRestored += (_, args) =>
            {
                // A subscription that failed while Redis was down is retried when it is back.
                foreach (string channel in _pubSub!.Channels())
                {
                    _interest.Writer.TryWrite(channel);
                }
                if (args.ConnectionType == ConnectionType.Subscription)
                {
                    _restored?.Invoke();
                }
            };
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

    private async Task ReconcileAsync(string channel)
    {
        bool wanted = _pubSub!.SubscriberCount(channel) > 0;
        bool subscribed = _queues.TryGetValue(channel, out ChannelMessageQueue? queue);
        try
        {
            if (wanted && !subscribed)
            {
                queue = await Subscriber!.SubscribeAsync(_redisChannel(channel)).ConfigureAwait(false);
                _queues[channel] = queue;
                _subscribed(channel, queue);
                if (_waiting.TryRemove(channel, out TaskCompletionSource? waiting))
                {
                    waiting.TrySetResult();
                }
            }
            else if (!wanted)
            {
                _waiting.TryRemove(channel, out _); // a waiter that left before the subscription: nothing to wait for
                if (!subscribed)
                {
                    return;
                }
                _queues.TryRemove(channel, out _);
                await queue!.UnsubscribeAsync().ConfigureAwait(false);
            }
        }
        catch (RedisException)
        {
            // Redis is down: ConnectionRestored re-checks every channel.
        }
    }
}
