namespace Engine;

/// <summary>
/// Writes a channel message as it is delivered with its history offset: the application's format decides where the
/// offset goes (the Host adds an <c>offset</c> member to its JSON, and uses a binary kind with an offset field).
/// <paramref name="destination"/> holds <paramref name="payload"/>'s length plus <see cref="PubSub.OffsetStampReserve"/>
/// bytes; returns the bytes written.
/// </summary>
public delegate int OffsetStamp(ReadOnlySpan<byte> payload, MessageType type, long offset, Span<byte> destination);

/// <summary>What <see cref="PubSub.SubscribeAsync"/> did.</summary>
/// <param name="Subscribed">False when the connection was closing (nothing else was done).</param>
/// <param name="Position">
/// Where the live messages this subscriber will get continue from: every message with a higher offset reaches it. Null
/// without a history backplane, or while the broker cannot be reached.
/// </param>
/// <param name="Recovered">
/// Asked to resume after a position: true when every message after it was sent (before any live one), false when the
/// history no longer reaches back that far or belongs to another epoch. Null when no position was given.
/// </param>
/// <param name="Replayed">Messages sent from the history to this subscriber.</param>
public readonly record struct SubscribeOutcome(bool Subscribed, ChannelPosition? Position, bool? Recovered, int Replayed);
