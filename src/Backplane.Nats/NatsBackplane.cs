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
/// <see cref="IPubSubBackplane.UndeliveredMessages"/> and dropped (never queued to arrive minutes late).
/// </para>
/// </summary>
public sealed class NatsBackplane : BackplaneBase
{
    private readonly NatsBackplaneOptions _options;
    private readonly NatsLink _link;

    /// <summary>Creates the backplane; nothing connects before <see cref="PubSub.UseBackplane"/> attaches it.</summary>
    public NatsBackplane(NatsBackplaneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Url);
        _options = options;
        _link = new NatsLink(options, NodeId, RecheckChannels);
    }

    /// <inheritdoc/>
    public override bool IsConnected => _link.IsConnected;

    /// <inheritdoc/>
    protected override Task ConnectAsync(CancellationToken cancellationToken) => _link.ConnectAsync().AsTask();

    /// <inheritdoc/>
    protected override bool SendToBroker(string channel, byte[] envelope)
    {
        try
        {
            ValueTask sent = _link.Connection.PublishAsync(_options.Prefix + channel, envelope, serializer: NatsRawSerializer<byte[]>.Default);
            if (!sent.IsCompletedSuccessfully)
            {
                // Rare: the write buffer is busy or full. The continuation only counts a failure (publish order is kept
                // by the client's write lock, which queues waiters in order).
                CountIfFailed(sent.AsTask());
            }
        }
        catch (NatsException)
        {
            CountUndelivered(); // for example over the server's max_payload (refused before sending)
        }
        return false;
    }

    /// <inheritdoc/>
    protected override bool IsBrokerFailure(Exception exception) => exception is NatsException;

    /// <inheritdoc/>
    protected override ValueTask CloseAsync() => _link.DisposeAsync();

    /// <inheritdoc/>
    protected override async Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken)
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
                    DeliverFromBroker(channel, data.Span);
                }
            }
        }
        catch (Exception exception) when (exception is ChannelClosedException or NatsException or ObjectDisposedException)
        {
            // The connection was disposed under the subscription: nothing more to read.
        }
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
