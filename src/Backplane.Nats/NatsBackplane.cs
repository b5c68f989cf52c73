using System.Collections.Concurrent;
using System.Threading.Channels;
using NATS.Client.Core;

namespace Engine.Backplane;

/// <summary>
/// An <see cref="IPubSubBackplane"/> over core NATS pub/sub (NATS.Net): every publish goes to the subject
/// <c>{prefix}{channel}</c> in a <see cref="BackplaneEnvelope"/>; a node subscribes to a subject only while the channel
/// has local subscribers. Each subject has its own subscription and one reader, so one channel's messages are handled
/// in order and subscribers see each publisher's messages in publish order.
/// <para>
/// Channel names are valid literal subjects (the Host allows 1-128 bytes of <c>A-Z a-z 0-9 _ . : -</c>); an embedder
/// that allows other names must keep spaces and the wildcards <c>*</c> and <c>&gt;</c> out of them.
/// </para>
/// <para>
/// Failure: the connection is made in the background and re-made with exponential backoff (the NATS client restores
/// the subscriptions); while NATS is down local delivery goes on, publishes are counted in
/// <see cref="UndeliveredMessages"/> and dropped (never queued to arrive minutes late).
/// </para>
/// </summary>
public sealed class NatsBackplane : IPubSubBackplane
{
    private readonly NatsBackplaneOptions _options;
    private readonly Channel<string> _interest = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, Subscription> _subscribed = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private PubSub? _pubSub;
    private NatsConnection? _nats;
    private Task? _loop;
    private long _undelivered;
    private long _received;

    /// <summary>Creates the backplane; nothing connects before <see cref="PubSub.UseBackplane"/> attaches it.</summary>
    public NatsBackplane(NatsBackplaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Url);
        _options = options;
    }

    /// <inheritdoc/>
    public Guid NodeId { get; } = Guid.NewGuid();

    /// <inheritdoc/>
    public bool IsConnected => _nats is { ConnectionState: NatsConnectionState.Open };

    /// <inheritdoc/>
    public long UndeliveredMessages => Interlocked.Read(ref _undelivered);

    /// <inheritdoc/>
    public long ReceivedMessages => Interlocked.Read(ref _received);

    /// <summary>Subjects this node is subscribed to now.</summary>
    public int SubscribedChannels => _subscribed.Count;

    /// <inheritdoc/>
    public void Attach(PubSub pubSub)
    {
        ArgumentNullException.ThrowIfNull(pubSub);
        if (Interlocked.CompareExchange(ref _pubSub, pubSub, null) is not null)
        {
            throw new InvalidOperationException("This backplane is already attached.");
        }
        _nats = new NatsConnection(NatsConnectionOptions.Create(_options, NodeId, echo: false));
        // A subscription that failed while NATS was down is retried when it is back (the client re-sends the others).
        _nats.ConnectionOpened += (_, _) =>
        {
            RecheckAll();
            return ValueTask.CompletedTask;
        };
        _loop = Task.Run(RunAsync);
    }

    /// <inheritdoc/>
    public void ChannelInterestChanged(string channel) => _interest.Writer.TryWrite(channel);

    /// <inheritdoc/>
    public bool Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, long senderId)
    {
        NatsConnection? nats = _nats;
        // Checked first: while disconnected the client would hold the publish and send it after the reconnect.
        if (nats is not { ConnectionState: NatsConnectionState.Open })
        {
            Interlocked.Increment(ref _undelivered);
            return false;
        }
        byte[] envelope = BackplaneEnvelope.Create(NodeId, senderId, payload, type);
        try
        {
            ValueTask sent = nats.PublishAsync(_options.Prefix + channel, envelope, serializer: NatsRawSerializer<byte[]>.Default);
            if (sent.IsCompletedSuccessfully)
            {
                return false;
            }
            // Rare: the write buffer is busy or full. The continuation only counts a failure (publish order is kept by
            // the client's write lock, which queues waiters in order).
            sent.AsTask().ContinueWith(static (task, state) => ((NatsBackplane)state!).CountFailure(task), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
        }
        catch (NatsException)
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
        if (_nats is not null)
        {
            await _nats.DisposeAsync().ConfigureAwait(false); // completes every subscription's message channel
        }
        foreach (Subscription subscription in _subscribed.Values)
        {
            await subscription.Reader.ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    private void CountFailure(Task task)
    {
        _ = task.Exception; // observed: a publish lost to a dropped connection is counted, not thrown
        Interlocked.Increment(ref _undelivered);
    }

    private async Task RunAsync()
    {
        try
        {
            // RetryOnInitialConnect: a broker that is down at start-up is retried with the reconnect backoff.
            await _nats!.ConnectAsync().ConfigureAwait(false);
            await foreach (string channel in _interest.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                await ReconcileAsync(channel).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
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
        bool subscribed = _subscribed.TryGetValue(channel, out Subscription? subscription);
        try
        {
            if (wanted && !subscribed)
            {
                INatsSub<NatsMemoryOwner<byte>> sub = await _nats!.SubscribeCoreAsync(_options.Prefix + channel,
                    serializer: NatsRawSerializer<NatsMemoryOwner<byte>>.Default, cancellationToken: _stop.Token).ConfigureAwait(false);
                _subscribed[channel] = new Subscription(sub, Task.Run(() => ReadAsync(channel, sub)));
            }
            else if (!wanted && subscribed)
            {
                _subscribed.TryRemove(channel, out _);
                await subscription!.Sub.DisposeAsync().ConfigureAwait(false);
                // Drained before a later subscribe of the same channel starts a second reader.
                await subscription.Reader.ConfigureAwait(false);
            }
        }
        catch (NatsException)
        {
            // NATS is down: ConnectionOpened re-checks every channel.
        }
    }

    private async Task ReadAsync(string channel, INatsSub<NatsMemoryOwner<byte>> sub)
    {
        ChannelReader<NatsMsg<NatsMemoryOwner<byte>>> messages = sub.Msgs;
        try
        {
            while (await messages.WaitToReadAsync().ConfigureAwait(false))
            {
                while (messages.TryRead(out NatsMsg<NatsMemoryOwner<byte>> message))
                {
                    using NatsMemoryOwner<byte> data = message.Data;
                    Receive(channel, data.Span);
                }
            }
        }
        catch (Exception exception) when (exception is ChannelClosedException or NatsException or ObjectDisposedException)
        {
            // The connection was disposed under the subscription: nothing more to read.
        }
    }

    private void Receive(string channel, ReadOnlySpan<byte> envelope)
    {
        // The connection is opened with echo off, so NATS does not send our own publishes back; the origin check
        // stays for a node that shares a connection or runs an older server.
        if (!BackplaneEnvelope.TryRead(envelope, out Guid origin, out _, out MessageType type, out ReadOnlySpan<byte> payload)
            || origin == NodeId)
        {
            return;
        }
        Interlocked.Increment(ref _received);
        // The sender id is another node's connection id: it means nothing here.
        _pubSub!.DeliverLocal(channel, payload, type);
    }

    private sealed record Subscription(INatsSub<NatsMemoryOwner<byte>> Sub, Task Reader);
}
