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
    private readonly RedisLink _link;
    private PubSub? _pubSub;
    private long _undelivered;
    private long _received;

    /// <summary>Creates the backplane; nothing connects before <see cref="PubSub.UseBackplane"/> attaches it.</summary>
    public RedisBackplane(RedisBackplaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _link = new RedisLink(options.Configuration, NodeId, RedisChannelOf,
            (channel, queue) => queue.OnMessage(message => Receive(channel, message.Message)));
    }

    /// <inheritdoc/>
    public Guid NodeId { get; } = Guid.NewGuid();

    /// <inheritdoc/>
    public bool IsConnected => _link.IsConnected;

    /// <inheritdoc/>
    public long UndeliveredMessages => Interlocked.Read(ref _undelivered);

    /// <inheritdoc/>
    public long ReceivedMessages => Interlocked.Read(ref _received);

    /// <summary>Redis channels this node is subscribed to now.</summary>
    public int SubscribedChannels => _link.SubscribedChannels.Count;

    /// <summary>Completes once the first connection attempt has been made (connected or not).</summary>
    public Task Started => _link.Started;

    /// <inheritdoc/>
    public void Attach(PubSub pubSub)
    {
        ArgumentNullException.ThrowIfNull(pubSub);
        _pubSub = pubSub;
        _link.Start(pubSub);
    }

    /// <inheritdoc/>
    public void ChannelInterestChanged(string channel) => _link.InterestChanged(channel);

    /// <inheritdoc/>
    public bool Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, long senderId)
    {
        ISubscriber? subscriber = _link.Subscriber;
        if (subscriber is null || !IsConnected)
        {
            Interlocked.Increment(ref _undelivered);
            return false;
        }
        byte[] envelope = BackplaneEnvelope.Create(NodeId, senderId, payload, type);
        try
        {
            Task<long> sent = subscriber.PublishAsync(RedisChannelOf(channel), envelope);
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
    public ValueTask DisposeAsync() => _link.DisposeAsync();

    private RedisChannel RedisChannelOf(string channel) => RedisChannel.Literal(_options.Prefix + channel);

    private void CountFailure(Task task)
    {
        _ = task.Exception; // observed: a publish lost to a dropped connection is counted, not thrown
        Interlocked.Increment(ref _undelivered);
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
