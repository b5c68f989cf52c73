using System.Globalization;
using System.Threading.Channels;
using Engine.History;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Engine.Backplane;

// Live delivery: one push consumer per channel with local subscribers, started again after a reconnect, a failure or
// silence, and the stream sequence read from each message's reply subject.
public sealed partial class NatsHistoryBackplane
{
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
