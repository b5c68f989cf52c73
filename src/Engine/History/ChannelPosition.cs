namespace Engine.History;

/// <summary>
/// A place in a channel's history: <see cref="Offset"/> counts the channel's messages (1, 2, 3, ... with no gaps, 0
/// before the first), <see cref="Epoch"/> names the history those offsets belong to. A history that is lost and begun
/// again (the broker's data was wiped) gets a new epoch, so an old offset is never mistaken for a new one.
/// </summary>
public readonly record struct ChannelPosition(long Offset, string Epoch);
