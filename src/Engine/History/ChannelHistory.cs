using System.Buffers;
using System.Collections.Concurrent;
using Engine.Runtime;

namespace Engine.History;

/// <summary>
/// Channel history on top of a <see cref="PubSub"/>: with an <see cref="IHistoryBackplane"/> the broker numbers each
/// channel's messages, and this layer delivers a channel's messages to the local subscribers in offset order, exactly
/// once, and sends a subscriber that comes back with the last position it saw what it missed
/// (<see cref="SubscribeAsync"/>). Creating it attaches the backplane to the <see cref="PubSub"/> (in place of
/// <see cref="PubSub.UseBackplane"/>), handing the backplane an <see cref="IHistorySink"/>. Thread-safe.
/// <para>
/// One gate per channel serializes, on this node, the live messages coming back from the broker, the catch-up reads
/// after a (re)subscription at the broker, and the subscribes that replay missed messages to one connection: so a
/// subscriber gets the replay, then its <c>joined</c> callback, then every later offset, with nothing skipped or doubled
/// in between.
/// </para>
/// </summary>
public sealed class ChannelHistory
{
    /// <summary>Bytes an <see cref="OffsetStamp"/> may add to a message.</summary>
    public const int OffsetStampReserve = 32;

    /// <summary>How long a first subscriber waits for the broker subscription before reading the position anyway.</summary>
    private static readonly TimeSpan SubscriptionWait = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, HistoryCursor> _cursors = new(StringComparer.Ordinal);
    private readonly PubSub _pubSub;
    private readonly IHistoryBackplane _history;
    private readonly OffsetStamp? _stamp;

    /// <summary>
    /// Attaches <paramref name="backplane"/> to <paramref name="pubSub"/> (once per <see cref="PubSub"/>: throws if one is
    /// attached already). The backplane is disposed by its owner, not by the server.
    /// </summary>
    /// <param name="pubSub">The server's channels.</param>
    /// <param name="backplane">The broker connection that keeps the history.</param>
    /// <param name="stamp">Writes the offset into each delivered message (the application's format); null delivers messages as published.</param>
    public ChannelHistory(PubSub pubSub, IHistoryBackplane backplane, OffsetStamp? stamp = null)
    {
        ArgumentNullException.ThrowIfNull(pubSub);
        ArgumentNullException.ThrowIfNull(backplane);
        _pubSub = pubSub;
        _history = backplane;
        _stamp = stamp;
        pubSub.AttachBackplane(backplane, new Sink(this), channel => _ = RetireCursorAsync(channel));
    }

    /// <summary>The channels this history sequences.</summary>
    public PubSub PubSub => _pubSub;

    /// <summary>The broker that keeps the history.</summary>
    public IHistoryBackplane Backplane => _history;

    /// <summary>
    /// Subscribes <paramref name="connection"/> and sends it the messages it missed after <paramref name="since"/> (what
    /// it saw last before a reconnect) before any live one. <paramref name="joined"/> runs once the subscriber is in place
    /// and before any later message reaches it (the place to confirm the subscription to the client). While the broker
    /// is down this is <see cref="PubSub.Subscribe"/> and the outcome has no position.
    /// </summary>
    public async ValueTask<SubscribeOutcome> SubscribeAsync(WebSocketConnection connection, string channel, ChannelPosition? since = null,
        Action<WebSocketConnection, SubscribeOutcome>? joined = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(channel);
        IHistoryBackplane history = _history;
        if (!history.IsConnected)
        {
            return Joined(connection, joined, new SubscribeOutcome(_pubSub.Subscribe(connection, channel), null, since is null ? null : false, 0));
        }
        HistoryCursor cursor = await EnterAsync(channel).ConfigureAwait(false);
        try
        {
            bool first = _pubSub.SubscriberCount(channel) == 0;
            if (!_pubSub.Subscribe(connection, channel))
            {
                return new SubscribeOutcome(false, null, null, 0);
            }
            HistoryPage? page = null;
            if (first || cursor.Epoch is null)
            {
                // No one here was subscribed: this node's view of the channel starts at the broker's newest offset, read
                // once the broker subscription is live, so every later message reaches us live. Should that take too
                // long (broker trouble), the Resync that follows the subscription catches up from the history instead.
                using (var wait = new CancellationTokenSource(SubscriptionWait))
                {
                    try
                    {
                        await history.WaitForSubscriptionAsync(channel, wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (wait.IsCancellationRequested)
                    {
                    }
                }
                page = await history.ReadHistoryAsync(channel, since?.Offset ?? long.MaxValue).ConfigureAwait(false);
                cursor.Position = page.Top.Offset;
                cursor.Epoch = page.Top.Epoch;
            }
            var position = new ChannelPosition(cursor.Position, cursor.Epoch!);
            if (since is not { } from)
            {
                return Joined(connection, joined, new SubscribeOutcome(true, position, null, 0));
            }
            if (from.Epoch != position.Epoch)
            {
                return Joined(connection, joined, new SubscribeOutcome(true, position, false, 0));
            }
            if (from.Offset >= position.Offset)
            {
                return Joined(connection, joined, new SubscribeOutcome(true, position, true, 0));
            }
            page ??= await history.ReadHistoryAsync(channel, from.Offset).ConfigureAwait(false);
            int replayed = 0;
            long expected = from.Offset + 1;
            bool contiguous = true;
            foreach (HistoryEntry entry in page.Entries)
            {
                if (entry.Offset <= from.Offset || entry.Offset > position.Offset)
                {
                    continue; // past our position: it reaches this subscriber live
                }
                contiguous &= entry.Offset == expected;
                expected = entry.Offset + 1;
                replayed += Replay(connection, entry) ? 1 : 0;
            }
            bool recovered = contiguous && expected == position.Offset + 1 && page.Top.Epoch == position.Epoch;
            return Joined(connection, joined, new SubscribeOutcome(true, position, recovered, replayed));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The broker went away mid-way: subscribed here all the same, without a position to come back with.
            ServerLog.HistoryUnavailable(_pubSub.Server.Logger, channel, exception.Message);
            bool subscribed = connection.IsOpen && _pubSub.SubscriberCount(channel) > 0;
            return Joined(connection, joined, new SubscribeOutcome(subscribed, null, since is null ? null : false, 0));
        }
        finally
        {
            ReleaseOrRetire(channel, cursor);
        }
    }

    /// <summary>
    /// <see cref="IHistorySink.DeliverSequencedAsync"/>: an offset delivered already is skipped; one beyond the next
    /// expected first gets the missing ones from the history.
    /// </summary>
    private async ValueTask DeliverSequencedAsync(string channel, ChannelPosition position, ReadOnlyMemory<byte> envelope)
    {
        ArgumentNullException.ThrowIfNull(channel);
        HistoryCursor cursor = await EnterAsync(channel).ConfigureAwait(false);
        try
        {
            if (cursor.Epoch != position.Epoch)
            {
                // The first message this node sees, or a history begun again: start from here.
                cursor.Epoch = position.Epoch;
                cursor.Position = position.Offset - 1;
            }
            if (position.Offset <= cursor.Position)
            {
                return; // a catch-up read delivered it already
            }
            if (position.Offset > cursor.Position + 1)
            {
                // The broker hands one channel's messages over in order, so the missing ones will not come live: what
                // the history no longer has is lost, and the rest goes out before this one.
                await CatchUpAsync(channel, cursor, position.Offset - 1, acrossGaps: true).ConfigureAwait(false);
            }
            DeliverEntry(channel, position.Offset, envelope.Span);
            cursor.Position = position.Offset;
        }
        finally
        {
            ReleaseOrRetire(channel, cursor);
        }
    }

    /// <summary><see cref="IHistorySink.ResyncAsync"/>: delivers what the history holds beyond the last offset delivered here.</summary>
    private async Task ResyncAsync(string channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (_pubSub.SubscriberCount(channel) == 0)
        {
            return;
        }
        HistoryCursor cursor = await EnterAsync(channel).ConfigureAwait(false);
        try
        {
            // Only what follows on without a gap: a message the history has already dropped may still be on its way
            // live (behind this resync), and jumping past it here would make us skip it when it arrives.
            await CatchUpAsync(channel, cursor, long.MaxValue, acrossGaps: false).ConfigureAwait(false);
        }
        finally
        {
            ReleaseOrRetire(channel, cursor);
        }
    }

    private async Task CatchUpAsync(string channel, HistoryCursor cursor, long upTo, bool acrossGaps)
    {
        HistoryPage page;
        try
        {
            page = await _history.ReadHistoryAsync(channel, Math.Max(cursor.Position, 0)).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            ServerLog.HistoryUnavailable(_pubSub.Server.Logger, channel, exception.Message);
            return; // a gap stays a gap: the live message still goes out
        }
        if (cursor.Epoch is null)
        {
            // Nothing delivered here yet: our subscribers start from now.
            cursor.Epoch = page.Top.Epoch;
            cursor.Position = Math.Min(page.Top.Offset, upTo);
            return;
        }
        if (page.Top.Epoch != cursor.Epoch)
        {
            // The history was begun again (the broker lost its data): deliver the new one from its start.
            cursor.Epoch = page.Top.Epoch;
            cursor.Position = 0;
            try
            {
                page = await _history.ReadHistoryAsync(channel, 0).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                ServerLog.HistoryUnavailable(_pubSub.Server.Logger, channel, exception.Message);
                return;
            }
        }
        foreach (HistoryEntry entry in page.Entries)
        {
            if (entry.Offset <= cursor.Position || entry.Offset > upTo)
            {
                continue;
            }
            if (!acrossGaps && entry.Offset != cursor.Position + 1)
            {
                return;
            }
            DeliverEntry(channel, entry.Offset, entry.Envelope.Span);
            cursor.Position = entry.Offset;
        }
    }

    /// <summary>Fans an enveloped message out to local subscribers with its offset stamped in, skipping its sender.</summary>
    private void DeliverEntry(string channel, long offset, ReadOnlySpan<byte> envelope)
    {
        if (!BackplaneEnvelope.TryRead(envelope, out Guid origin, out long senderId, out MessageType type, out ReadOnlySpan<byte> payload))
        {
            return;
        }
        // Connection ids are per node: the sender is skipped only on the node it published from.
        long excludeId = origin == _history.NodeId ? senderId : 0;
        if (_stamp is not { } stamp)
        {
            _pubSub.DeliverLocal(channel, payload, type, excludeId);
            return;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(payload.Length + OffsetStampReserve);
        try
        {
            int length = stamp(payload, type, offset, buffer);
            _pubSub.DeliverLocal(channel, buffer.AsSpan(0, length), type, excludeId);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool Replay(WebSocketConnection connection, HistoryEntry entry)
    {
        if (!BackplaneEnvelope.TryRead(entry.Envelope.Span, out _, out _, out MessageType type, out ReadOnlySpan<byte> payload))
        {
            return false;
        }
        if (_stamp is not { } stamp)
        {
            return connection.Send(payload, type) == SendStatus.Queued;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(payload.Length + OffsetStampReserve);
        try
        {
            return connection.Send(buffer.AsSpan(0, stamp(payload, type, entry.Offset, buffer)), type) == SendStatus.Queued;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static SubscribeOutcome Joined(WebSocketConnection connection, Action<WebSocketConnection, SubscribeOutcome>? joined, SubscribeOutcome outcome)
    {
        if (outcome.Subscribed)
        {
            joined?.Invoke(connection, outcome);
        }
        return outcome;
    }

    /// <summary>Takes the channel's gate; a cursor retired while we waited is left for the current one.</summary>
    private async ValueTask<HistoryCursor> EnterAsync(string channel)
    {
        while (true)
        {
            HistoryCursor cursor = _cursors.GetOrAdd(channel, static _ => new HistoryCursor());
            await cursor.Gate.WaitAsync().ConfigureAwait(false);
            if (_cursors.TryGetValue(channel, out HistoryCursor? current) && current == cursor)
            {
                return cursor;
            }
            cursor.Gate.Release();
        }
    }

    /// <summary>Releases the gate; a channel left without subscribers here gives its cursor up (bounded memory).</summary>
    private void ReleaseOrRetire(string channel, HistoryCursor cursor)
    {
        if (_pubSub.SubscriberCount(channel) == 0)
        {
            _cursors.TryRemove(new KeyValuePair<string, HistoryCursor>(channel, cursor));
        }
        cursor.Gate.Release();
    }

    private async Task RetireCursorAsync(string channel)
    {
        if (!_cursors.TryGetValue(channel, out HistoryCursor? cursor))
        {
            return;
        }
        await cursor.Gate.WaitAsync().ConfigureAwait(false);
        ReleaseOrRetire(channel, cursor);
    }

    /// <summary>What the history backplane is handed: local delivery, and the sequenced delivery through the gates.</summary>
    private sealed class Sink(ChannelHistory history) : PubSubSink(history._pubSub), IHistorySink
    {
        public ValueTask DeliverSequencedAsync(string channel, ChannelPosition position, ReadOnlyMemory<byte> envelope) =>
            history.DeliverSequencedAsync(channel, position, envelope);

        public Task ResyncAsync(string channel) => history.ResyncAsync(channel);
    }

    /// <summary>This node's place in one channel's history.</summary>
    private sealed class HistoryCursor
    {
        public readonly SemaphoreSlim Gate = new(1, 1);

        /// <summary>The last offset delivered to this node's subscribers.</summary>
        public long Position;

        /// <summary>The history <see cref="Position"/> belongs to; null until this node learned it.</summary>
        public string? Epoch;
    }
}
