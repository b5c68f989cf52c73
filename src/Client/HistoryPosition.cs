namespace Engine.Client;

/// <summary>
/// A place in a channel's history on a server that keeps one: the offset of the last message seen (messages are
/// numbered 1, 2, 3... per channel, 0 is before the first) and the epoch naming that history (a wiped broker starts a
/// new one, whose offsets mean something else).
/// </summary>
public readonly record struct HistoryPosition(long Offset, string Epoch);
