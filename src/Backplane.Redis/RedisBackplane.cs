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
/// <see cref="IPubSubBackplane.UndeliveredMessages"/> and dropped (never queued to arrive minutes late).
/// </para>
/// </summary>
public sealed class RedisBackplane : BackplaneBase
{
    private readonly RedisBackplaneOptions _options;
    private readonly RedisLink _link;

    /// <summary>Creates the backplane; nothing connects before <see cref="PubSub.UseBackplane"/> attaches it.</summary>
    public RedisBackplane(RedisBackplaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _link = new RedisLink(options.Configuration, NodeId, _ => RecheckChannels());
    }

    /// <inheritdoc/>
    public override bool IsConnected => _link.IsConnected;

    /// <summary>Completes once the first connection attempt has been made (connected or not).</summary>
    public Task Started => _link.Started;

    /// <inheritdoc/>
    protected override bool CanPublish => _link.Subscriber is not null && IsConnected;

    /// <inheritdoc/>
    protected override Task ConnectAsync(CancellationToken cancellationToken) => _link.ConnectAsync();

    /// <inheritdoc/>
    protected override Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken) =>
        _link.ListenAsync(RedisChannelOf(channel), queue => queue.OnMessage(message => DeliverFromBroker(channel, (byte[])message.Message!)));

    /// <inheritdoc/>
    protected override bool SendToBroker(string channel, byte[] envelope)
    {
        try
        {
            Task<long> sent = _link.Subscriber!.PublishAsync(RedisChannelOf(channel), envelope);
            if (!sent.IsCompletedSuccessfully)
            {
                CountIfFailed(sent);
            }
        }
        catch (RedisException)
        {
            CountUndelivered();
        }
        return false;
    }

    /// <inheritdoc/>
    protected override bool IsBrokerFailure(Exception exception) => exception is RedisException;

    /// <inheritdoc/>
    protected override ValueTask CloseAsync() => _link.DisposeAsync();

    private RedisChannel RedisChannelOf(string channel) => RedisChannel.Literal(_options.Prefix + channel);
}
