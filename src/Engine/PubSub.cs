using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Engine.Buffers;
using Engine.Compression;
using Engine.Protocol;
using Engine.Session;
using Engine.Runtime;

namespace Engine;

/// <summary>
/// Channels (topics) of a <see cref="WebSocketServer"/>: subscribe connections, publish to all of them. The registry is
/// sharded by channel hash, so work on different channels does not contend. A publish frames the message once into
/// a pooled, reference-counted buffer and queues that same buffer to every subscriber: no per-subscriber copy or
/// allocation; each subscriber's own event loop then writes it (fan-out work spreads over the loops). A subscriber
/// over its send limit is handled by <see cref="WebSocketServerOptions.SlowConsumerPolicy"/> (dropped and counted,
/// or closed) and never delays the others. A connection that ends leaves all its channels. Thread-safe.
/// <para>With an <see cref="IPubSubBackplane"/> (<see cref="UseBackplane"/>) channels span several servers: publishes
/// also go to the broker, and the node subscribes at the broker only to channels that have local subscribers. Without
/// one the publish path is the local fan-out alone (one null check more). Channel history (offsets, catch-up after a
/// reconnect) is a layer on top: <see cref="History.ChannelHistory"/>.</para>
/// </summary>
public sealed class PubSub
{
    private readonly WebSocketServer _server;
    private readonly Shard[] _shards;
    private long _dropped;
    private long _deliveries;
    private IPubSubBackplane? _backplane;
    private Action<string>? _channelEmptied;

    internal PubSub(WebSocketServer server, int shardCount)
    {
        _server = server;
        _shards = new Shard[shardCount];
        for (int i = 0; i < shardCount; i++)
        {
            _shards[i] = new Shard();
        }
    }

    /// <summary>Channels with at least one subscriber.</summary>
    public int ChannelCount
    {
        get
        {
            int count = 0;
            foreach (Shard shard in _shards)
            {
                lock (shard.Lock)
                {
                    count += shard.Topics.Count;
                }
            }
            return count;
        }
    }

    /// <summary>Messages not queued to a subscriber because it was over its send limit.</summary>
    public long DroppedMessages => Interlocked.Read(ref _dropped);

    /// <summary>Messages queued to subscribers since start.</summary>
    public long Deliveries => Interlocked.Read(ref _deliveries);

    /// <summary>The backplane attached with <see cref="UseBackplane"/>, or null (single node).</summary>
    public IPubSubBackplane? Backplane => _backplane;

    /// <summary>
    /// Attaches a broker so channels span servers; once, before or after start (channels that already have subscribers
    /// are announced to it). The backplane is disposed by its owner, not by the server. A backplane that keeps history
    /// (<see cref="History.IHistoryBackplane"/>) is attached with <see cref="History.ChannelHistory"/> instead.
    /// </summary>
    public void UseBackplane(IPubSubBackplane backplane) => AttachBackplane(backplane, new PubSubSink(this), null);

    /// <summary>
    /// Attaches <paramref name="backplane"/>, handing it <paramref name="sink"/>; <paramref name="channelEmptied"/> (the
    /// history layer's) runs after a channel lost its last local subscriber.
    /// </summary>
    internal void AttachBackplane(IPubSubBackplane backplane, IBackplaneSink sink, Action<string>? channelEmptied)
    {
        ArgumentNullException.ThrowIfNull(backplane);
        if (Interlocked.CompareExchange(ref _backplane, backplane, null) is not null)
        {
            throw new InvalidOperationException("A backplane is already attached.");
        }
        // Set before the backplane attaches: channels may come and go from then on.
        _channelEmptied = channelEmptied;
        try
        {
            backplane.Attach(sink);
        }
        catch
        {
            // Refused (attached elsewhere already, or a history backplane without the history layer): none attached.
            Volatile.Write(ref _backplane, null);
            _channelEmptied = null;
            throw;
        }
        foreach (string channel in Channels())
        {
            backplane.ChannelInterestChanged(channel);
        }
    }

    /// <summary>A snapshot of the channels that have at least one subscriber.</summary>
    public List<string> Channels()
    {
        var channels = new List<string>();
        foreach (Shard shard in _shards)
        {
            lock (shard.Lock)
            {
                channels.AddRange(shard.Topics.Keys);
            }
        }
        return channels;
    }

    /// <summary>Subscribes <paramref name="connection"/>; false if it already was, or is not open.</summary>
    public bool Subscribe(WebSocketConnection connection, string channel)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(channel);
        if (!connection.IsOpen)
        {
            return false;
        }
        Shard shard = ShardOf(channel);
        bool first;
        lock (shard.Lock)
        {
            // The connection's own list (a few channels) says whether it is a member, not a scan of the channel's.
            if (!connection.TryAddSubscription(channel))
            {
                return false;
            }
            if (!shard.Topics.TryGetValue(channel, out ChannelMembers<WebSocketConnection>? members))
            {
                members = new ChannelMembers<WebSocketConnection>();
                shard.Topics[channel] = members;
            }
            members.Add(connection);
            first = members.Count == 1;
        }
        if (first)
        {
            _backplane?.ChannelInterestChanged(channel);
        }
        if (connection.HasEnded)
        {
            Unsubscribe(connection, channel); // it ended while we subscribed it: do not leak the entry
            return false;
        }
        return true;
    }

    /// <summary>Unsubscribes <paramref name="connection"/>; false if it was not subscribed.</summary>
    public bool Unsubscribe(WebSocketConnection connection, string channel)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(channel);
        bool removed = RemoveFromTopic(connection, channel);
        connection.RemoveSubscription(channel);
        return removed;
    }

    /// <summary>Current subscribers of <paramref name="channel"/>.</summary>
    public int SubscriberCount(string channel)
    {
        Shard shard = ShardOf(channel);
        lock (shard.Lock)
        {
            return shard.Topics.TryGetValue(channel, out ChannelMembers<WebSocketConnection>? members) ? members.Count : 0;
        }
    }

    /// <summary>
    /// Sends a message to every subscriber of <paramref name="channel"/> except <paramref name="exclude"/>; returns how
    /// many local subscribers it was queued to. The payload is copied once; the caller may reuse its buffer at once. With
    /// a backplane the message also goes to the other nodes (and, when the backplane orders messages, local delivery
    /// happens when the broker hands it back: the result is then 0).
    /// </summary>
    public int Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, WebSocketConnection? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        IPubSubBackplane? backplane = _backplane;
        if (backplane is not null && backplane.Publish(channel, payload, type, exclude?.Id ?? 0))
        {
            return 0;
        }
        return FanOut(channel, payload, type, exclude, 0);
    }

    /// <summary>Delivers to this server's subscribers only, never to the backplane (<see cref="IBackplaneSink.Deliver"/>).</summary>
    internal int DeliverLocal(string channel, ReadOnlySpan<byte> payload, MessageType type, long excludeId)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return FanOut(channel, payload, type, null, excludeId);
    }

    /// <summary>The server these channels belong to (the history layer logs through it).</summary>
    internal WebSocketServer Server => _server;

    private int FanOut(string channel, ReadOnlySpan<byte> payload, MessageType type, WebSocketConnection? exclude, long excludeId)
    {
        ReadOnlyMemory<WebSocketConnection?> subscribers;
        Shard shard = ShardOf(channel);
        lock (shard.Lock)
        {
            if (!shard.Topics.TryGetValue(channel, out ChannelMembers<WebSocketConnection>? members) || members.Count == 0)
            {
                return 0;
            }
            subscribers = members.Snapshot;
        }
        long started = _server.Metrics.FanoutEnabled ? Stopwatch.GetTimestamp() : 0;
        SharedBuffer? frame = null;
        SharedBuffer? compressed = null;
        bool triedCompression = false;
        SessionCompression? compression = _server.Settings.Compression;
        int delivered = 0;
        int sharedDelivered = 0; // Send (per-subscriber compression) counts its own messages in the metrics
        int dropped = 0;
        try
        {
            foreach (WebSocketConnection? subscriber in subscribers.Span)
            {
                if (subscriber is null || subscriber == exclude || subscriber.Id == excludeId)
                {
                    continue;
                }
                SendStatus status;
                bool shared = true;
                PerMessageDeflate? deflate = subscriber.Deflate;
                if (deflate is null || payload.Length < deflate.Threshold)
                {
                    status = subscriber.SendShared(frame ??= SharedFrames.Frame((Opcode)type, payload, _server.SharedBuffers));
                }
                else if (deflate.Parameters.ServerNoContextTakeover && deflate.Parameters.ServerWindowBits == compression!.Config.ServerMaxWindowBits)
                {
                    // Without context takeover a compressed message stands alone: compress it once for all such subscribers.
                    if (!triedCompression)
                    {
                        triedCompression = true;
                        compressed = SharedFrames.FrameCompressed(compression!, (Opcode)type, payload, _server.SharedBuffers);
                    }
                    status = subscriber.SendShared(compressed ?? (frame ??= SharedFrames.Frame((Opcode)type, payload, _server.SharedBuffers)));
                }
                else
                {
                    status = subscriber.Send(payload, type); // its own context (or a smaller window): compressed for it alone
                    shared = false;
                }
                switch (status)
                {
                    case SendStatus.Queued:
                        delivered++;
                        sharedDelivered += shared ? 1 : 0;
                        break;
                    case SendStatus.Backpressure:
                        dropped++;
                        break;
                }
            }
        }
        finally
        {
            frame?.Release();
            compressed?.Release();
        }
        Interlocked.Add(ref _deliveries, delivered);
        if (dropped > 0)
        {
            Interlocked.Add(ref _dropped, dropped); // the server's metric counts them in WebSocketConnection.Complete
        }
        _server.Metrics.Sent(sharedDelivered, (long)sharedDelivered * payload.Length);
        _server.Metrics.Published(started);
        return delivered;
    }

    /// <summary>The connection ended: remove it from every channel it joined.</summary>
    internal void RemoveAll(WebSocketConnection connection)
    {
        foreach (string channel in connection.TakeSubscriptions())
        {
            RemoveFromTopic(connection, channel);
        }
    }

    private bool RemoveFromTopic(WebSocketConnection connection, string channel)
    {
        if (!RemoveFromTopic(connection, channel, out bool emptied))
        {
            return false;
        }
        if (emptied)
        {
            _backplane?.ChannelInterestChanged(channel);
            _channelEmptied?.Invoke(channel);
        }
        return true;
    }

    private bool RemoveFromTopic(WebSocketConnection connection, string channel, out bool emptied)
    {
        emptied = false;
        Shard shard = ShardOf(channel);
        lock (shard.Lock)
        {
            if (!shard.Topics.TryGetValue(channel, out ChannelMembers<WebSocketConnection>? members) || !members.Remove(connection))
            {
                return false;
            }
            if (members.Count == 0)
            {
                shard.Topics.Remove(channel);
                emptied = true;
            }
            return true;
        }
    }

    private Shard ShardOf(string channel) => _shards[(int)((uint)StringComparer.Ordinal.GetHashCode(channel) % (uint)_shards.Length)];

    private sealed class Shard
    {
        public readonly Lock Lock = new();
        public readonly Dictionary<string, ChannelMembers<WebSocketConnection>> Topics = new(StringComparer.Ordinal);
    }
}
