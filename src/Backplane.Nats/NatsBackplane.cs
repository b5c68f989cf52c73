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
    private readonly NatsLink _link;
    private PubSub? _pubSub;
    private long _undelivered;
    private long _received;

    /// <summary>Creates the backplane; nothing connects before <see cref="PubSub.UseBackplane"/> attaches it.</summary>
    public NatsBackplane(NatsBackplaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Url);
        _options = options;
        // Echo off: NATS never sends a node its own publishes (delivered locally already).
        _link = new NatsLink(options, NodeId, echo: false, ListenAsync);
    }

    /// <inheritdoc/>
    public Guid NodeId { get; } = Guid.NewGuid();

    /// <inheritdoc/>
    public bool IsConnected => _link.IsConnected;

    /// <inheritdoc/>
    public long UndeliveredMessages => Interlocked.Read(ref _undelivered);

    /// <inheritdoc/>
    public long ReceivedMessages => Interlocked.Read(ref _received);

    /// <summary>Subjects this node is subscribed to now.</summary>
    public int SubscribedChannels => _link.Listeners.Count;

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
        // Checked first: while disconnected the client would hold the publish and send it after the reconnect.
        if (!_link.IsConnected)
        {
            Interlocked.Increment(ref _undelivered);
            return false;
        }
        byte[] envelope = BackplaneEnvelope.Create(NodeId, senderId, payload, type);
        try
        {
            ValueTask sent = _link.Connection.PublishAsync(_options.Prefix + channel, envelope, serializer: NatsRawSerializer<byte[]>.Default);
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
            Interlocked.Increment(ref _undelivered); // for example over the server's max_payload (refused before sending)
        }
        return false;
    }

    /// <summary>Unsubscribes and closes the connection.</summary>
    public ValueTask DisposeAsync() => _link.DisposeAsync();

    private void CountFailure(Task task)
    {
        _ = task.Exception; // observed: a publish lost to a dropped connection is counted, not thrown
        Interlocked.Increment(ref _undelivered);
    }

    private async Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken)
    {
        INatsSub<NatsMemoryOwner<byte>> sub = await _link.Connection.SubscribeCoreAsync(_options.Prefix + channel,
            serializer: NatsRawSerializer<NatsMemoryOwner<byte>>.Default, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new Subscription(sub, Task.Run(() => ReadAsync(channel, sub), CancellationToken.None));
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
        // Echo is off, so NATS does not send our own publishes back; the origin check stays for safety.
        if (!BackplaneEnvelope.TryRead(envelope, out Guid origin, out _, out MessageType type, out ReadOnlySpan<byte> payload)
            || origin == NodeId)
        {
            return;
        }
        Interlocked.Increment(ref _received);
        // The sender id is another node's connection id: it means nothing here.
        _pubSub!.DeliverLocal(channel, payload, type);
    }

    /// <summary>One subject's subscription and the task that reads it in order.</summary>
    private sealed class Subscription(INatsSub<NatsMemoryOwner<byte>> sub, Task reader) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await sub.DisposeAsync().ConfigureAwait(false); // unsubscribes and completes the message channel
            await reader.ConfigureAwait(false);
        }
    }
}
