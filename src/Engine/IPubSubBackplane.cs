namespace Engine;

/// <summary>
/// Carries a <see cref="PubSub"/>'s channels across servers through a message broker (Redis, NATS), so a message
/// published on one node reaches subscribers on every node. Attached with <see cref="PubSub.UseBackplane"/> (or, for a
/// backplane that keeps history, with <see cref="History.ChannelHistory"/>). <see cref="BackplaneBase"/> implements the
/// parts every broker shares.
/// <para>
/// Contract: <see cref="PubSub"/> calls <see cref="ChannelInterestChanged"/> when a channel gets its first local
/// subscriber and after it lost its last one (the backplane subscribes at the broker only while a channel has local
/// subscribers, asking <see cref="IBackplaneSink.HasSubscribers"/> to decide); it calls <see cref="Publish"/> for every
/// local publish. Messages from other nodes go to local subscribers through the <see cref="IBackplaneSink"/> handed to
/// <see cref="Attach"/>. A backplane tags what it publishes with <see cref="NodeId"/> and never delivers its own
/// messages twice.
/// </para>
/// <para>Thread-safety: every member may be called from any thread, concurrently; <see cref="Publish"/> and
/// <see cref="ChannelInterestChanged"/> run on I/O threads and must not block.</para>
/// </summary>
public interface IPubSubBackplane : IAsyncDisposable
{
    /// <summary>This node's id as stamped on its messages (random per process).</summary>
    Guid NodeId { get; }

    /// <summary>Whether the broker connection is up. While it is down local delivery goes on and cross-node publishes are counted in <see cref="UndeliveredMessages"/>.</summary>
    bool IsConnected { get; }

    /// <summary>Publishes that could not be handed to the broker (it was down or refused them): messages that did not cross nodes.</summary>
    long UndeliveredMessages { get; }

    /// <summary>Messages received from the broker and delivered to local subscribers.</summary>
    long ReceivedMessages { get; }

    /// <summary>
    /// Called once, when the backplane is attached to a <see cref="PubSub"/>: starts connecting (in the background; a
    /// broker that is down is retried with backoff). <paramref name="sink"/> is how the backplane reaches the local
    /// subscribers from then on; a history backplane is handed an <see cref="History.IHistorySink"/>.
    /// </summary>
    void Attach(IBackplaneSink sink);

    /// <summary>The channel got its first local subscriber or lost its last one: subscribe or unsubscribe at the broker. Must not block.</summary>
    void ChannelInterestChanged(string channel);

    /// <summary>
    /// Sends a local publish to the other nodes. <paramref name="payload"/> is valid only during the call (copy it).
    /// <paramref name="senderId"/> is the publishing connection's <see cref="WebSocketConnection.Id"/> (0 for none).
    /// Returns false when <see cref="PubSub"/> should deliver to local subscribers itself (at once, the usual case), true
    /// when the backplane takes that over: history mode, where the broker orders a channel's messages and gives each an
    /// offset, so local subscribers get the message when the broker hands it back (without <paramref name="senderId"/>),
    /// in the same order as every other node.
    /// </summary>
    bool Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, long senderId);
}
