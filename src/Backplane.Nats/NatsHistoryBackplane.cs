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
public sealed class NatsHistoryBackplane : HistoryBackplaneBase
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

    /// <inheritdoc/>
    protected override Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken)
    {
        var listener = new Listener(cancellationToken, _activations.GetOrAdd(channel, static _ => NewActivation()));
        listener.Loop = Task.Run(() => ListenLoopAsync(channel, listener), CancellationToken.None);
        return Task.FromResult<IAsyncDisposable>(new ListenerRegistration(this, channel, listener));
    }

    private static TaskCompletionSource NewActivation() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void RestartListeners()
    {
        foreach (IAsyncDisposable registration in Listeners)
        {
            ((ListenerRegistration)registration).Listener.Restart();
        }
    }

    // One channel's live messages, in stream order, through a push consumer of our own: the inbox is subscribed before
    // the consumer exists, so it misses nothing from its start sequence on. Made again after a reconnect, a failure or
    // silence past the idle heartbeat, starting after the last offset handed to PubSub (so what was published meanwhile
    // comes first, as far as the stream still holds it), or at the stream's end when the epoch changed. A gap (the
    // server dropping messages to a slow client) is filled by PubSub from the history.
    private async Task ListenLoopAsync(string channel, Listener listener)
    {
        string? epoch = null;
        ulong next = 0;
        TimeSpan backoff = _options.ReconnectWaitMin;
        string streamName = StreamName(channel);
        while (!listener.Stopping.IsCancellationRequested)
        {
            using CancellationTokenSource attempt = listener.BeginAttempt();
            string? consumerName = null;
            INatsSub<NatsMemoryOwner<byte>>? inbox = null;
            try
            {
                StreamInfo info = await GetOrCreateStreamAsync(channel, attempt.Token).ConfigureAwait(false);
                string current = EpochOf(info);
                if (current != epoch)
                {
                    epoch = current;
                    next = info.State.LastSeq + 1;
                }
                // Not the client's NewInbox(): subjects under its inbox prefix go to its request-reply dispatcher.
                inbox = await _link.Connection.SubscribeCoreAsync(_deliverPrefix + Interlocked.Increment(ref _nextDeliver).ToString(CultureInfo.InvariantCulture),
                    serializer: NatsRawSerializer<NatsMemoryOwner<byte>>.Default, cancellationToken: attempt.Token).ConfigureAwait(false);
                INatsJSConsumer consumer = await _js.CreateOrUpdateConsumerAsync(streamName, new ConsumerConfig
                {
                    DeliverSubject = inbox.Subject,
                    DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                    OptStartSeq = next,
                    AckPolicy = ConsumerConfigAckPolicy.None,
                    IdleHeartbeat = IdleHeartbeat,
                    InactiveThreshold = ReadConsumerInactivity,
                    MemStorage = true,
                }, attempt.Token).ConfigureAwait(false);
                consumerName = consumer.Info.Name;
                listener.Activation.TrySetResult();
                // No ResyncAsync here: the consumer starts at the next offset this node needs, so it brings what
                // was missed itself, in order; a resync would read the same messages again from the stream.
                backoff = _options.ReconnectWaitMin;
                next = await ConsumeAsync(channel, inbox, epoch, next, attempt.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!listener.Stopping.IsCancellationRequested)
            {
                // restarted (the connection came back) or silent past the heartbeat: a new consumer at once
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception exception) when (exception is NatsException or TimeoutException)
            {
                // NATS is down or JetStream refused: try again after a pause (a reconnect restarts us at once).
                try
                {
                    await Task.Delay(backoff, listener.Stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.ReconnectWaitMax.Ticks));
            }
            finally
            {
                await RemoveConsumerAsync(streamName, consumerName, inbox).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Hands the inbox's messages to PubSub in order until cancelled or silent; returns the next offset expected.</summary>
    private async Task<ulong> ConsumeAsync(string channel, INatsSub<NatsMemoryOwner<byte>> inbox, string epoch, ulong next, CancellationToken cancellationToken)
    {
        using var alive = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        alive.CancelAfter(IdleHeartbeat * 3);
        ChannelReader<NatsMsg<NatsMemoryOwner<byte>>> messages = inbox.Msgs;
        while (await messages.WaitToReadAsync(alive.Token).ConfigureAwait(false))
        {
            while (messages.TryRead(out NatsMsg<NatsMemoryOwner<byte>> message))
            {
                alive.CancelAfter(IdleHeartbeat * 3);
                using NatsMemoryOwner<byte> data = message.Data;
                // Idle heartbeats carry a status header and no body; messages carry their stream sequence in the reply subject.
                if (!TryStreamSequence(message.ReplyTo, out ulong offset))
                {
                    continue;
                }
                await DeliverSequencedAsync(channel, new ChannelPosition((long)offset, epoch), data.Memory).ConfigureAwait(false);
                next = offset + 1;
            }
        }
        return next; // the subscription ended (connection disposed)
    }

    private async Task RemoveConsumerAsync(string streamName, string? consumerName, INatsSub<NatsMemoryOwner<byte>>? inbox)
    {
        if (inbox is not null)
        {
            await inbox.DisposeAsync().ConfigureAwait(false);
        }
        if (consumerName is null || !_link.IsConnected)
        {
            return; // an ephemeral consumer without interest is removed by the server after its inactive threshold
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _js.DeleteConsumerAsync(streamName, consumerName, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is NatsException or OperationCanceledException or TimeoutException)
        {
        }
    }

    /// <summary>
    /// The stream sequence from a JetStream delivery's reply subject: <c>$JS.ACK.stream.consumer.delivered.sseq.cseq.ts.pending</c>
    /// (9 tokens), or with domain and account hash in front (12 or more).
    /// </summary>
    internal static bool TryStreamSequence(string? replyTo, out ulong sequence)
    {
        sequence = 0;
        if (replyTo is null || !replyTo.StartsWith("$JS.ACK.", StringComparison.Ordinal))
        {
            return false;
        }
        ReadOnlySpan<char> rest = replyTo.AsSpan();
        Span<Range> tokens = stackalloc Range[14];
        int count = rest.Split(tokens, '.');
        int index = count switch
        {
            9 => 5,
            >= 12 => 7,
            _ => -1,
        };
        return index >= 0 && ulong.TryParse(rest[tokens[index]], NumberStyles.None, CultureInfo.InvariantCulture, out sequence) && sequence > 0;
    }

    private sealed record PendingPublish(string Channel, byte[] Envelope, long Started);

    /// <summary>A channel's live consumer loop: stopped by disposing, restarted (new consumer) by <see cref="Restart"/>.</summary>
    private sealed class Listener(CancellationToken linkStopping, TaskCompletionSource activation)
    {
        private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(linkStopping);
        private CancellationTokenSource? _attempt;

        public Task? Loop { get; set; }

        /// <summary>Completed once the first consumer exists.</summary>
        public TaskCompletionSource Activation { get; } = activation;

        public CancellationToken Stopping => _stop.Token;

        public CancellationTokenSource BeginAttempt()
        {
            var attempt = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            Volatile.Write(ref _attempt, attempt);
            return attempt;
        }

        public void Restart()
        {
            try
            {
                Volatile.Read(ref _attempt)?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // that attempt ended already
            }
        }

        public async ValueTask StopAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            if (Loop is not null)
            {
                await Loop.ConfigureAwait(false);
            }
            _stop.Dispose();
        }
    }

    /// <summary>What the link holds for a listened channel: disposing stops the loop and forgets its activation.</summary>
    private sealed class ListenerRegistration(NatsHistoryBackplane owner, string channel, Listener listener) : IAsyncDisposable
    {
        public Listener Listener { get; } = listener;

        public async ValueTask DisposeAsync()
        {
            owner._activations.TryRemove(new KeyValuePair<string, TaskCompletionSource>(channel, Listener.Activation));
            await Listener.StopAsync().ConfigureAwait(false);
        }
    }
}
