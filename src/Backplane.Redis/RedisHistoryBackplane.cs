using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace Engine.Backplane;

/// <summary>
/// An <see cref="IHistoryBackplane"/> over Redis: each channel keeps its recent messages in a Redis Stream, and one Lua
/// script per publish (atomic in Redis) takes the channel's next offset, appends the message to the stream, trims it to
/// the configured size and age, and publishes it with its offset and epoch to the Redis channel <c>{prefix}h:{channel}</c>,
/// which every node with local subscribers listens to. The publishing node gets its own message back like every other
/// node, so all nodes deliver a channel's messages in the same (offset) order.
/// <para>
/// Keys per channel: <c>{prefix}{{channel}}:m</c>, a hash with the epoch (<c>e</c>, random, set when the channel's
/// history begins) and the last offset (<c>o</c>); <c>{prefix}{{channel}}:s</c>, the stream (entries with fields
/// <c>o</c>, the offset, and <c>d</c>, the <see cref="BackplaneEnvelope"/>). The hash tag keeps both on one cluster slot.
/// Failure: as <see cref="RedisBackplane"/>; in addition, messages lost while the connection was down are read back from
/// the stream when it is restored (<see cref="PubSub.ResyncAsync"/>), as far as the history reaches.
/// </para>
/// </summary>
public sealed class RedisHistoryBackplane : IHistoryBackplane
{
    // KEYS: meta hash, stream. ARGV: envelope, max entries (0: no cap), TTL ms (0: none), pub/sub channel, epoch if new.
    private const string PublishScript = """
        local epoch = redis.call('HGET', KEYS[1], 'e')
        if not epoch then
          epoch = ARGV[5]
          redis.call('HSET', KEYS[1], 'e', epoch)
        end
        local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
        local maxlen = tonumber(ARGV[2])
        if maxlen > 0 then
          redis.call('XADD', KEYS[2], 'MAXLEN', maxlen, '*', 'o', offset, 'd', ARGV[1])
        else
          redis.call('XADD', KEYS[2], '*', 'o', offset, 'd', ARGV[1])
        end
        local ttl = tonumber(ARGV[3])
        if ttl > 0 then
          local now = redis.call('TIME')
          local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
          redis.call('XTRIM', KEYS[2], 'MINID', (ms - ttl) .. '-0')
          redis.call('PEXPIRE', KEYS[2], ttl)
        end
        redis.call('PUBLISH', ARGV[4], offset .. ':' .. epoch .. ':' .. ARGV[1])
        return offset
        """;

    // KEYS: meta hash, stream. ARGV: read entries with offset above this, TTL ms (0: none), epoch if new.
    private const string ReadScript = """
        local epoch = redis.call('HGET', KEYS[1], 'e')
        if not epoch then
          epoch = ARGV[3]
          redis.call('HSET', KEYS[1], 'e', epoch)
        end
        local top = tonumber(redis.call('HGET', KEYS[1], 'o') or '0')
        local ttl = tonumber(ARGV[2])
        if ttl > 0 then
          local now = redis.call('TIME')
          local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
          redis.call('XTRIM', KEYS[2], 'MINID', (ms - ttl) .. '-0')
        end
        local after = tonumber(ARGV[1])
        local entries = {}
        if after < top then
          entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', top - after)
        end
        return {epoch, tostring(top), entries}
        """;

    private readonly RedisBackplaneOptions _options;
    private readonly RedisHistoryOptions _history;
    private readonly RedisLink _link;
    private PubSub? _pubSub;
    private long _undelivered;
    private long _received;

    /// <summary>Creates the backplane; nothing connects before <see cref="PubSub.UseBackplane"/> attaches it.</summary>
    public RedisHistoryBackplane(RedisBackplaneOptions options, RedisHistoryOptions history)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(history);
        history.Validate();
        _options = options;
        _history = history;
        _link = new RedisLink(options.Configuration, NodeId, LiveChannelOf, OnSubscribed, OnRestored);
    }

    /// <inheritdoc/>
    public Guid NodeId { get; } = Guid.NewGuid();

    /// <inheritdoc/>
    public bool IsConnected => _link.IsConnected;

    /// <inheritdoc/>
    public long UndeliveredMessages => Interlocked.Read(ref _undelivered);

    /// <summary>Messages received from the broker that other nodes published (this node's own come back too, and are not counted).</summary>
    public long ReceivedMessages => Interlocked.Read(ref _received);

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
        IDatabase? database = _link.Database;
        if (database is null || !IsConnected)
        {
            Interlocked.Increment(ref _undelivered);
            return false;
        }
        byte[] envelope = BackplaneEnvelope.Create(NodeId, senderId, payload, type);
        Task<RedisResult> sent;
        try
        {
            sent = database.ScriptEvaluateAsync(PublishScript, Keys(channel),
                [envelope, _history.MaxMessages, (long)_history.TimeToLive.TotalMilliseconds, LiveChannelName(channel), NewEpoch()]);
        }
        catch (RedisException)
        {
            Interlocked.Increment(ref _undelivered);
            return false;
        }
        if (!sent.IsCompletedSuccessfully)
        {
            sent.ContinueWith(static (task, state) =>
            {
                var (backplane, channel, envelope) = ((RedisHistoryBackplane, string, byte[]))state!;
                backplane.PublishFailed(task, channel, envelope);
            }, (this, channel, envelope), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        }
        return true; // delivered here too when Redis hands it back with its offset
    }

    /// <inheritdoc/>
    public async ValueTask<HistoryPage> ReadHistoryAsync(string channel, long after, CancellationToken cancellationToken = default)
    {
        IDatabase database = _link.Database ?? throw new InvalidOperationException("Redis has not been connected yet.");
        RedisResult result = await database.ScriptEvaluateAsync(ReadScript, Keys(channel),
            [after.ToString(CultureInfo.InvariantCulture), (long)_history.TimeToLive.TotalMilliseconds, NewEpoch()]).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var top = new ChannelPosition(long.Parse((string)parts[1]!, CultureInfo.InvariantCulture), (string)parts[0]!);
        var newestFirst = (RedisResult[])parts[2]!;
        var entries = new HistoryEntry[newestFirst.Length];
        for (int i = 0; i < newestFirst.Length; i++)
        {
            // [id, [o, offset, d, envelope]]
            var fields = (RedisResult[])((RedisResult[])newestFirst[i]!)[1]!;
            entries[newestFirst.Length - 1 - i] = new HistoryEntry((long)fields[1], (byte[])fields[3]!);
        }
        return new HistoryPage(top, entries);
    }

    /// <inheritdoc/>
    public Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken) =>
        _link.WaitForSubscriptionAsync(channel, cancellationToken);

    /// <summary>Unsubscribes and closes the connection.</summary>
    public ValueTask DisposeAsync() => _link.DisposeAsync();

    private RedisKey[] Keys(string channel) => [$"{_options.Prefix}{{{channel}}}:m", $"{_options.Prefix}{{{channel}}}:s"];

    private string LiveChannelName(string channel) => _options.Prefix + "h:" + channel;

    private RedisChannel LiveChannelOf(string channel) => RedisChannel.Literal(LiveChannelName(channel));

    private static string NewEpoch() => Guid.NewGuid().ToString("N")[..12];

    private void OnSubscribed(string channel, ChannelMessageQueue queue)
    {
        // One channel's messages in order, each awaited: DeliverSequencedAsync may read a gap from the stream first.
        queue.OnMessage(message => ReceiveAsync(channel, message.Message));
        _ = _pubSub!.ResyncAsync(channel); // what was published before the subscription was active
    }

    private void OnRestored()
    {
        // Messages published while the connection was down never reach us live; the stream has them. Once at once, and
        // again shortly after, for the window before the library has re-issued the subscriptions.
        _ = ResyncAllAsync();
    }

    private async Task ResyncAllAsync()
    {
        foreach (string channel in _link.SubscribedChannels)
        {
            await _pubSub!.ResyncAsync(channel).ConfigureAwait(false);
        }
        await Task.Delay(1000).ConfigureAwait(false);
        foreach (string channel in _link.SubscribedChannels)
        {
            await _pubSub!.ResyncAsync(channel).ConfigureAwait(false);
        }
    }

    private async Task ReceiveAsync(string channel, RedisValue message)
    {
        // offset ':' epoch ':' envelope
        var bytes = (byte[])message!;
        int first = Array.IndexOf(bytes, (byte)':');
        int second = first < 0 ? -1 : Array.IndexOf(bytes, (byte)':', first + 1);
        if (second < 0 || !long.TryParse(bytes.AsSpan(0, first), NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
        {
            return;
        }
        string epoch = Encoding.ASCII.GetString(bytes, first + 1, second - first - 1);
        ReadOnlyMemory<byte> envelope = bytes.AsMemory(second + 1);
        if (BackplaneEnvelope.TryRead(envelope.Span, out Guid origin, out _, out _, out _) && origin != NodeId)
        {
            Interlocked.Increment(ref _received);
        }
        await _pubSub!.DeliverSequencedAsync(channel, new ChannelPosition(offset, epoch), envelope).ConfigureAwait(false);
    }

    private void PublishFailed(Task task, string channel, byte[] envelope)
    {
        _ = task.Exception; // observed: counted, and delivered here without an offset rather than lost
        Interlocked.Increment(ref _undelivered);
        if (BackplaneEnvelope.TryRead(envelope, out _, out long senderId, out MessageType type, out ReadOnlySpan<byte> payload))
        {
            _pubSub!.DeliverLocal(channel, payload, type, senderId);
        }
    }
}
