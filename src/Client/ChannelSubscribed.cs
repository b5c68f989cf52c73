namespace Engine.Client;

/// <summary>A <c>subscribed</c> answer.</summary>
/// <param name="Channel">The channel joined.</param>
/// <param name="Position">Where the live messages continue after (every later message reaches this client); null on a
/// server without history, or when its broker could not be reached.</param>
/// <param name="Recovered">Only for a re-subscribe that resumed from a position (after a reconnect): true when every
/// message missed since that position was delivered (before this answer); false when some are lost (the history no
/// longer reaches back, or it is another epoch): the application should reload the channel's state. Null otherwise.</param>
public sealed record ChannelSubscribed(string Channel, HistoryPosition? Position, bool? Recovered);
