namespace Engine.History;

/// <summary>What <see cref="ChannelHistory.SubscribeAsync"/> did.</summary>
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
