namespace Engine.History;

/// <summary>
/// What <see cref="IHistoryBackplane.ReadHistoryAsync"/> found: the channel's newest position and the retained entries
/// after the offset asked for, oldest first, with consecutive offsets. The history reaches back to that offset when the
/// first entry is the one right after it (or when nothing was published since).
/// </summary>
public sealed record HistoryPage(ChannelPosition Top, IReadOnlyList<HistoryEntry> Entries)
{
    /// <summary>Whether the entries hold every message after <paramref name="after"/> up to <see cref="Top"/>.</summary>
    public bool ReachesBackTo(long after) =>
        after >= Top.Offset || (Entries.Count > 0 && Entries[0].Offset == after + 1 && Entries[^1].Offset == Top.Offset);
}
