namespace Engine.History;

/// <summary>One message read back from a channel's history: its offset and its <see cref="BackplaneEnvelope"/>.</summary>
public readonly record struct HistoryEntry(long Offset, ReadOnlyMemory<byte> Envelope);
