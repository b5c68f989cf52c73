using StackExchange.Redis;

namespace Engine.Backplane;

/// <summary>
/// The connection both Redis backplanes share: made in the background and again with exponential backoff after a
/// failure (StackExchange.Redis restores the subscriptions); one Redis subscription per listened channel.
/// </summary>
internal sealed class RedisLink : IAsyncDisposable
{
    private readonly string _configuration;
    private readonly Guid _nodeId;
    private readonly Action<bool> _restored;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ConnectionMultiplexer? _redis;

    /// <param name="configuration">StackExchange.Redis configuration string.</param>
    /// <param name="nodeId">Names the connection in CLIENT LIST.</param>
    /// <param name="restored">Called when a connection came back after a failure; true for the subscription connection.</param>
    public RedisLink(string configuration, Guid nodeId, Action<bool> restored)
    {
        _configuration = configuration;
        _nodeId = nodeId;
        _restored = restored;
    }

    public bool IsConnected => _redis is { IsConnected: true };

    /// <summary>For publishes: null until the first connection attempt finished.</summary>
    public ISubscriber? Subscriber { get; private set; }

    /// <summary>For commands and scripts: null until the first connection attempt finished.</summary>
    public IDatabase? Database { get; private set; }

    /// <summary>Completes once the first connection attempt has been made (connected or not).</summary>
    public Task Started => _started.Task;

    public async Task ConnectAsync()
    {
        try
        {
            var configuration = ConfigurationOptions.Parse(_configuration);
            // Start with Redis down, and come back when it does: background reconnects with exponential backoff.
            configuration.AbortOnConnectFail = false;
            configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 10_000);
            configuration.BacklogPolicy = BacklogPolicy.FailFast;
            configuration.ClientName ??= "engine-" + _nodeId.ToString("N")[..8];
            _redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
            Subscriber = _redis.GetSubscriber();
            Database = _redis.GetDatabase();
            _redis.ConnectionRestored += (_, args) => _restored(args.ConnectionType == ConnectionType.Subscription);
        }
        finally
        {
            _started.TrySetResult();
        }
    }

    /// <summary>Subscribes to <paramref name="channel"/>, handing its messages to <paramref name="listen"/> in order; disposing the result unsubscribes.</summary>
    public async Task<IAsyncDisposable> ListenAsync(RedisChannel channel, Action<ChannelMessageQueue> listen)
    {
        ChannelMessageQueue queue = await Subscriber!.SubscribeAsync(channel).ConfigureAwait(false);
        listen(queue);
        return new Subscription(queue);
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class Subscription(ChannelMessageQueue queue) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(queue.UnsubscribeAsync());
    }
}
