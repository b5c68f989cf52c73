using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Engine.History;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Engine.Backplane;

/// <summary>
/// An <see cref="IHistoryBackplane"/> over NATS JetStream: each channel is one stream (subject <c>{prefix}h.{channel}</c>,
/// <c>max_msgs</c> from the history size, <c>max_age</c> = its time to live), so the stream sequence is the channel's
/// gap-free offset (the stream holds <see cref="NatsHistoryOptions.DeliverySlack"/> messages more than it shows as history)
/// and the stream's creation time names its epoch (a stream deleted and made again, or a broker whose
/// storage was wiped, starts a new epoch). Stream names cannot hold '.', so a stream is named by a hash of its subject
/// (<c>WS_H_</c> + 32 hex digits; its description holds the channel name for operators).
/// <para>
/// Publish: a plain NATS publish to the channel's subject with a reply subject of this node's, where JetStream
/// acknowledges it (publish order is the order of the calls; no task per message). A refused or unacknowledged publish
/// is counted in <see cref="IPubSubBackplane.UndeliveredMessages"/> and delivered to this node's subscribers without an offset.
/// Live delivery: one ordered push consumer per channel with local subscribers, starting after the last offset this node
/// read, handing each message to <see cref="IHistorySink.DeliverSequencedAsync"/> in order (this node's own messages too: the
/// broker's order is everyone's order). The consumer is made again after every reconnect, starting after the last
/// offset this node delivered, so it brings what was published meanwhile itself (as far as the stream still holds it).
/// </para>
/// <para>One stream per channel suits up to some thousands of channels; streams stay on the broker when their channels
/// go quiet (their messages age out with the time to live).</para>
/// </summary>
public sealed partial class NatsHistoryBackplane : HistoryBackplaneBase
{
    private static readonly TimeSpan ReadConsumerInactivity = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan IdleHeartbeat = TimeSpan.FromSeconds(5);

    private readonly NatsBackplaneOptions _options;
    private readonly NatsHistoryOptions _history;
    private readonly NatsLink _link;
    private readonly NatsJSContext _js;
    private readonly string _ackPrefix;
    private readonly string _deliverPrefix;
    private readonly ConcurrentDictionary<long, PendingPublish> _pending = new();
    private readonly ConcurrentDictionary<string, byte> _configChecked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _ensuring = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _activations = new(StringComparer.Ordinal);
    private INatsSub<NatsMemoryOwner<byte>>? _acks;
    private Task? _ackReader;
    private Task? _sweeper;
    private long _nextAck;
    private long _nextDeliver;

    /// <summary>Creates the backplane; nothing connects before a <see cref="ChannelHistory"/> attaches it.</summary>
    public NatsHistoryBackplane(NatsBackplaneOptions options, NatsHistoryOptions history)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrEmpty(options.Url);
        history.Validate();
        _options = options;
        _history = history;
        _ackPrefix = "_WS_ACK." + NodeId.ToString("N") + ".";
        _deliverPrefix = "_WS_LIVE." + NodeId.ToString("N") + ".";
        // A listener that failed while NATS was down is made now; the others start a new consumer after what they delivered.
        _link = new NatsLink(options, NodeId, () =>
        {
            RecheckChannels();
            RestartListeners();
        });
        _link.Connection.ConnectionDisconnected += (_, _) =>
        {
            FailAllPending(); // their acks will not come: delivered here without an offset rather than lost
            return ValueTask.CompletedTask;
        };
        _js = new NatsJSContext(_link.Connection);
    }

    /// <inheritdoc/>
    public override bool IsConnected => _link.IsConnected;

    /// <summary>Without the ack subscription an accepted publish could not be told from a lost one.</summary>
    protected override bool CanPublish => _link.IsConnected && _acks is not null;

    /// <inheritdoc/>
    protected override async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await _link.ConnectAsync().ConfigureAwait(false);
        await StartAcksAsync(_link.Connection, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    protected override bool IsBrokerFailure(Exception exception) => exception is NatsException;

    /// <inheritdoc/>
    protected override bool SendToBroker(string channel, byte[] envelope)
    {
        long id = Interlocked.Increment(ref _nextAck);
        _pending[id] = new PendingPublish(channel, envelope, Environment.TickCount64);
        try
        {
            ValueTask sent = _link.Connection.PublishAsync(Subject(channel), envelope, replyTo: _ackPrefix + id.ToString(CultureInfo.InvariantCulture),
                serializer: NatsRawSerializer<byte[]>.Default);
            if (!sent.IsCompletedSuccessfully)
            {
                sent.AsTask().ContinueWith(static (task, state) =>
                {
                    (NatsHistoryBackplane backplane, long id) = ((NatsHistoryBackplane, long))state!;
                    _ = task.Exception; // observed: counted and delivered here instead
                    backplane.Fail(id);
                }, (this, id), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
            }
        }
        catch (NatsException)
        {
            // Refused before sending (over the server's max_payload, for example): PubSub delivers it here itself.
            _pending.TryRemove(id, out _);
            CountUndelivered();
            return false;
        }
        return true; // delivered here too when JetStream hands it back with its offset
    }

    /// <inheritdoc/>
    public override async ValueTask<HistoryPage> ReadHistoryAsync(string channel, long after, CancellationToken cancellationToken = default)
    {
        StreamInfo info = await GetOrCreateStreamAsync(channel, cancellationToken).ConfigureAwait(false);
        ulong last = info.State.LastSeq;
        var top = new ChannelPosition((long)last, EpochOf(info));
        ulong from = Math.Max((ulong)Math.Max(after, 0) + 1, info.State.FirstSeq);
        if (_history.MaxMessages > 0 && last > (ulong)_history.MaxMessages)
        {
            // The stream keeps some more (DeliverySlack); the history is the last MaxMessages.
            from = Math.Max(from, last - (ulong)_history.MaxMessages + 1);
        }
        if (after >= (long)last || info.State.Messages == 0 || from > last)
        {
            return new HistoryPage(top, []);
        }
        int count = (int)Math.Min(last - from + 1, int.MaxValue);
        // An ephemeral consumer for this one read: no acks, in memory, removed by the server once idle.
        INatsJSConsumer consumer = await _js.CreateOrUpdateConsumerAsync(StreamName(channel), new ConsumerConfig
        {
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = from,
            AckPolicy = ConsumerConfigAckPolicy.None,
            InactiveThreshold = ReadConsumerInactivity,
            MemStorage = true,
        }, cancellationToken).ConfigureAwait(false);
        var entries = new List<HistoryEntry>(Math.Min(count, 1024));
        await foreach (NatsJSMsg<byte[]> message in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = count },
            NatsRawSerializer<byte[]>.Default, cancellationToken).ConfigureAwait(false))
        {
            ulong offset = message.Metadata?.Sequence.Stream ?? 0;
            if (offset == 0 || offset > last)
            {
                break;
            }
            entries.Add(new HistoryEntry((long)offset, message.Data ?? []));
        }
        return new HistoryPage(top, entries);
    }

    /// <inheritdoc/>
    public override Task WaitForSubscriptionAsync(string channel, CancellationToken cancellationToken)
    {
        // Completed by the channel's listener once its consumer exists (the activation outlives a restart).
        TaskCompletionSource activation = _activations.GetOrAdd(channel, static _ => NewActivation());
        return activation.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    protected override async ValueTask CloseAsync()
    {
        await _link.DisposeAsync().ConfigureAwait(false); // completes the ack subscription too
        if (_ackReader is not null)
        {
            await _ackReader.ConfigureAwait(false);
        }
        if (_sweeper is not null)
        {
            await _sweeper.ConfigureAwait(false);
        }
    }

    private string Subject(string channel) => _options.Prefix + "h." + channel;

    private string StreamName(string channel)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(Subject(channel)), hash);
        return "WS_H_" + Convert.ToHexString(hash[..16]);
    }

    /// <summary>The stream's creation time: a stream made again (or a wiped broker) has another one.</summary>
    private static string EpochOf(StreamInfo info) => info.Created.UtcTicks.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>
    /// The stream keeps <see cref="NatsHistoryOptions.DeliverySlack"/> messages more than the history: JetStream drops
    /// messages over the limit as new ones are stored, also those a consumer has not been sent yet, so a burst larger
    /// than a bare limit would be lost to the live consumers too.
    /// </summary>
    private long StreamMaxMessages => _history.MaxMessages > 0 ? (long)_history.MaxMessages + _history.DeliverySlack : -1;

    private StreamConfig ConfigOf(string channel) => new()
    {
        Name = StreamName(channel),
        Description = "history of channel " + channel,
        Subjects = [Subject(channel)],
        MaxMsgs = StreamMaxMessages,
        MaxAge = _history.TimeToLive,
        Storage = _history.MemoryStorage ? StreamConfigStorage.Memory : StreamConfigStorage.File,
        Retention = StreamConfigRetention.Limits,
        Discard = StreamConfigDiscard.Old,
        NumReplicas = 1,
    };

    private async Task<StreamInfo> GetOrCreateStreamAsync(string channel, CancellationToken cancellationToken)
    {
        string name = StreamName(channel);
        INatsJSStream stream;
        try
        {
            stream = await _js.GetStreamAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException exception) when (exception.Error.Code == 404)
        {
            try
            {
                // Another node may create it at the same moment: an identical config is accepted as it is.
                stream = await _js.CreateStreamAsync(ConfigOf(channel), cancellationToken).ConfigureAwait(false);
                _configChecked.TryAdd(channel, 0);
                return stream.Info;
            }
            catch (NatsJSApiException)
            {
                stream = await _js.GetStreamAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        StreamConfig config = stream.Info.Config;
        if (_configChecked.TryAdd(channel, 0)
            && (config.MaxMsgs != StreamMaxMessages || config.MaxAge != _history.TimeToLive))
        {
            // The limits changed since the stream was made (WS_HISTORY_* of a new deployment): they apply from now on;
            // the epoch stays (an update keeps the creation time).
            try
            {
                stream = await _js.UpdateStreamAsync(ConfigOf(channel) with { Storage = config.Storage }, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException)
            {
                // Refused (another node's limits won, or a setting that cannot change): the stream stays as it is.
            }
        }
        return stream.Info;
    }

    private void EnsureStreamSoon(string channel)
    {
        if (!_ensuring.TryAdd(channel, 0))
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await GetOrCreateStreamAsync(channel, Stopping).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is NatsException or OperationCanceledException or TimeoutException)
            {
                // The next refused publish tries again.
            }
            finally
            {
                _ensuring.TryRemove(channel, out _);
            }
        });
    }

    private async Task StartAcksAsync(NatsConnection connection, CancellationToken cancellationToken)
    {
        INatsSub<NatsMemoryOwner<byte>> acks = await connection.SubscribeCoreAsync(_ackPrefix + "*",
            serializer: NatsRawSerializer<NatsMemoryOwner<byte>>.Default, cancellationToken: cancellationToken).ConfigureAwait(false);
        _ackReader = Task.Run(() => ReadAcksAsync(acks), CancellationToken.None);
        _sweeper = Task.Run(() => SweepAsync(Stopping), CancellationToken.None);
        _acks = acks;
    }

    private async Task ReadAcksAsync(INatsSub<NatsMemoryOwner<byte>> acks)
    {
        ChannelReader<NatsMsg<NatsMemoryOwner<byte>>> messages = acks.Msgs;
        try
        {
            while (await messages.WaitToReadAsync().ConfigureAwait(false))
            {
                while (messages.TryRead(out NatsMsg<NatsMemoryOwner<byte>> message))
                {
                    using NatsMemoryOwner<byte> data = message.Data;
                    if (!long.TryParse(message.Subject.AsSpan(_ackPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long id))
                    {
                        continue;
                    }
                    // JetStream answers {"stream":...,"seq":N} or {"error":{...}}; no stream for the subject: a
                    // no-responders status without a body.
                    bool refused = message.HasNoResponders || data.Length == 0 || data.Span.IndexOf("\"error\""u8) >= 0;
                    if (refused)
                    {
                        Fail(id);
                    }
                    else
                    {
                        _pending.TryRemove(id, out _);
                    }
                }
            }
        }
        catch (Exception exception) when (exception is ChannelClosedException or NatsException or ObjectDisposedException)
        {
        }
    }

    private async Task SweepAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                long timeout = (long)_history.AckTimeout.TotalMilliseconds;
                foreach (KeyValuePair<long, PendingPublish> pending in _pending)
                {
                    if (now - pending.Value.Started > timeout)
                    {
                        Fail(pending.Key);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void FailAllPending()
    {
        foreach (long id in _pending.Keys)
        {
            Fail(id);
        }
    }

    /// <summary>The broker refused or lost an accepted publish: count it and deliver it here without an offset.</summary>
    private void Fail(long id)
    {
        if (!_pending.TryRemove(id, out PendingPublish? pending))
        {
            return; // answered meanwhile
        }
        DeliverUnsequenced(pending.Channel, pending.Envelope);
        // The usual cause: no stream for the channel yet (nobody ever subscribed to it). Later publishes then land.
        EnsureStreamSoon(pending.Channel);
    }
}
