using System.Globalization;
using System.Text;
using Engine.History;
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
/// the stream when it is restored (<see cref="IHistorySink.ResyncAsync"/>), as far as the history reaches.
/// </para>
/// </summary>
public sealed class RedisHistoryBackplane : HistoryBackplaneBase
{
    // What both scripts begin with. KEYS: meta hash, stream. ARGV[1]: the epoch to give a channel whose history begins
    // now; ARGV[2]: TTL ms (0: none), entries older are trimmed.
    private const string ScriptPrologue = """
        local epoch = redis.call('HGET', KEYS[1], 'e')
        if not epoch then
          epoch = ARGV[1]
          redis.call('HSET', KEYS[1], 'e', epoch)
        end
        local ttl = tonumber(ARGV[2])
        if ttl > 0 then
          local now = redis.call('TIME')
          local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
          redis.call('XTRIM', KEYS[2], 'MINID', (ms - ttl) .. '-0')
        end

        """;

    // ARGV (after the prologue's): envelope, max entries (0: no cap), pub/sub channel.
    private const string PublishScript = ScriptPrologue + """
        local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
        local maxlen = tonumber(ARGV[4])
        if maxlen > 0 then
          redis.call('XADD', KEYS[2], 'MAXLEN', maxlen, '*', 'o', offset, 'd', ARGV[3])
        else
          redis.call('XADD', KEYS[2], '*', 'o', offset, 'd', ARGV[3])
        end
        if ttl > 0 then
          redis.call('PEXPIRE', KEYS[2], ttl)
        end
        redis.call('PUBLISH', ARGV[5], offset .. ':' .. epoch .. ':' .. ARGV[3])
        return offset
        """;

    // ARGV (after the prologue's): read entries with offset above this.
    private const string ReadScript = ScriptPrologue + """
        local top = tonumber(redis.call('HGET', KEYS[1], 'o') or '0')
        local after = tonumber(ARGV[3])
        local entries = {}
        if after < top then
          entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', top - after)
        end
        return {epoch, tostring(top), entries}
        """;

    private readonly RedisBackplaneOptions _options;
    private readonly RedisHistoryOptions _history;
    private readonly RedisLink _link;

    /// <summary>Creates the backplane; nothing connects before a <see cref="ChannelHistory"/> attaches it.</summary>
    public RedisHistoryBackplane(RedisBackplaneOptions options, RedisHistoryOptions history)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(history);
        history.Validate();
        _options = options;
        _history = history;
        _link = new RedisLink(options.Configuration, NodeId, subscription =>
        {
            RecheckChannels();
            if (subscription)
            {
                OnRestored();
            }
        });
    }

    /// <inheritdoc/>
    public override bool IsConnected => _link.IsConnected;

    /// <summary>Completes once the first connection attempt has been made (connected or not).</summary>
    public Task Started => _link.Started;

    /// <inheritdoc/>
    protected override bool CanPublish => _link.Database is not null && IsConnected;

    /// <inheritdoc/>
    protected override Task ConnectAsync(CancellationToken cancellationToken) => _link.ConnectAsync();

    /// <inheritdoc/>
    protected override async Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken)
    {
        // One channel's messages in order, each awaited: DeliverSequencedAsync may read a gap from the stream first.
        IAsyncDisposable listener = await _link.ListenAsync(LiveChannelOf(channel),
            queue => queue.OnMessage(message => ReceiveAsync(channel, message.Message))).ConfigureAwait(false);
        _ = HistorySink.ResyncAsync(channel); // what was published before the subscription was active
        return listener;
    }

    /// <inheritdoc/>
    protected override bool SendToBroker(string channel, byte[] envelope)
    {
        Task<RedisResult> sent;
        try
        {
            sent = _link.Database!.ScriptEvaluateAsync(PublishScript, Keys(channel),
                [NewEpoch(), (long)_history.TimeToLive.TotalMilliseconds, envelope, _history.MaxMessages, LiveChannelName(channel)]);
        }
        catch (RedisException)
        {
            CountUndelivered();
            return false;
        }
        if (!sent.IsCompletedSuccessfully)
        {
            sent.ContinueWith(static (task, state) =>
            {
                (RedisHistoryBackplane backplane, string channel, byte[] envelope) = ((RedisHistoryBackplane, string, byte[]))state!;
                _ = task.Exception; // observed: counted, and delivered here without an offset rather than lost
                backplane.DeliverUnsequenced(channel, envelope);
            }, (this, channel, envelope), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        }
        return true; // delivered here too when Redis hands it back with its offset
    }

    /// <inheritdoc/>
    protected override bool IsBrokerFailure(Exception exception) => exception is RedisException;

    /// <inheritdoc/>
    protected override ValueTask CloseAsync() => _link.DisposeAsync();

    /// <inheritdoc/>
    public override async ValueTask<HistoryPage> ReadHistoryAsync(string channel, long after, CancellationToken cancellationToken = default)
    {
        IDatabase database = _link.Database ?? throw new InvalidOperationException("Redis has not been connected yet.");
        RedisResult result = await database.ScriptEvaluateAsync(ReadScript, Keys(channel),
            [NewEpoch(), (long)_history.TimeToLive.TotalMilliseconds, after.ToString(CultureInfo.InvariantCulture)]).ConfigureAwait(false);
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
    public override Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken) =>
        WaitForListenerAsync(channel, cancellationToken);

    private RedisKey[] Keys(string channel) => [$"{_options.Prefix}{{{channel}}}:m", $"{_options.Prefix}{{{channel}}}:s"];

    private string LiveChannelName(string channel) => _options.Prefix + "h:" + channel;

    private RedisChannel LiveChannelOf(string channel) => RedisChannel.Literal(LiveChannelName(channel));

    private static string NewEpoch() => Guid.NewGuid().ToString("N")[..12];

    private void OnRestored()
    {
        // Messages published while the connection was down never reach us live; the stream has them. Once at once, and
        // again shortly after, for the window before the library has re-issued the subscriptions.
        _ = ResyncAllAsync();
    }

    private async Task ResyncAllAsync()
    {
        foreach (string channel in ListenedChannels)
        {
            await HistorySink.ResyncAsync(channel).ConfigureAwait(false);
        }
        await Task.Delay(1000).ConfigureAwait(false);
        foreach (string channel in ListenedChannels)
        {
            await HistorySink.ResyncAsync(channel).ConfigureAwait(false);
        }
    }

    private async Task ReceiveAsync(string channel, RedisValue message)
    {
        // offset ':' epoch ':' envelope
        byte[] bytes = (byte[])message!;
        int first = Array.IndexOf(bytes, (byte)':');
        int second = first < 0 ? -1 : Array.IndexOf(bytes, (byte)':', first + 1);
        if (second < 0 || !long.TryParse(bytes.AsSpan(0, first), NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
        {
            return;
        }
        string epoch = Encoding.ASCII.GetString(bytes, first + 1, second - first - 1);
        ReadOnlyMemory<byte> envelope = bytes.AsMemory(second + 1);
        await DeliverSequencedAsync(channel, new ChannelPosition(offset, epoch), envelope).ConfigureAwait(false);
    }
}
