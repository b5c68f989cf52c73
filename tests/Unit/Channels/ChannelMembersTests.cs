using System.Runtime.InteropServices;

namespace Engine.Tests.Unit.Channels;

/// <summary>
/// A channel's subscriber list: joins append without copying the whole list each time, leaves empty a slot, and a
/// snapshot a publisher took is never changed behind it except for slots emptying.
/// </summary>
public class ChannelMembersTests
{
    private static List<string> Live(ChannelMembers<string> members) =>
        members.Snapshot.ToArray().Where(m => m is not null).Select(m => m!).ToList();

    private static object Backing(ReadOnlyMemory<string?> snapshot) =>
        MemoryMarshal.TryGetArray(snapshot, out ArraySegment<string?> segment) ? segment.Array! : throw new InvalidOperationException();

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(10_000)]
    public void Joins_grow_the_array_by_doubling(int joins)
    {
        var members = new ChannelMembers<string>();
        var arrays = new HashSet<object>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < joins; i++)
        {
            members.Add($"c{i}");
            arrays.Add(Backing(members.Snapshot));
        }
        Assert.Equal(joins, members.Count);
        Assert.Equal(Enumerable.Range(0, joins).Select(i => $"c{i}"), Live(members));
        // One array per doubling from 4: a copy per join would show one array per join.
        Assert.True(arrays.Count <= Math.Max(1, (int)Math.Ceiling(Math.Log2(joins / 4.0)) + 1), $"{arrays.Count} arrays for {joins} joins");
    }

    [Fact]
    public void Leaves_empty_their_slot_and_keep_the_order_of_the_rest()
    {
        var members = new ChannelMembers<string>();
        for (int i = 0; i < 10; i++)
        {
            members.Add($"c{i}");
        }
        Assert.True(members.Remove("c3"));
        Assert.True(members.Remove("c9"));
        Assert.False(members.Remove("c3"));
        Assert.False(members.Remove("never"));
        Assert.Equal(8, members.Count);
        Assert.Equal(["c0", "c1", "c2", "c4", "c5", "c6", "c7", "c8"], Live(members));
    }

    [Fact]
    public void A_snapshot_keeps_its_members_while_others_join_and_the_array_is_replaced()
    {
        var members = new ChannelMembers<string>();
        members.Add("a");
        members.Add("b");
        ReadOnlyMemory<string?> snapshot = members.Snapshot;
        for (int i = 0; i < 100; i++)
        {
            members.Add($"late{i}"); // grows into new arrays: the snapshot's is left alone
        }
        Assert.Equal(["a", "b"], snapshot.ToArray().Select(m => m!));
        Assert.Equal(102, members.Count);
    }

    [Fact]
    public void Mostly_empty_lists_are_compacted_and_refilled_without_growing()
    {
        var members = new ChannelMembers<string>();
        for (int i = 0; i < 64; i++)
        {
            members.Add($"c{i}");
        }
        ReadOnlyMemory<string?> before = members.Snapshot;
        for (int i = 0; i < 60; i++)
        {
            members.Remove($"c{i}");
        }
        Assert.Equal(4, members.Count);
        Assert.Equal(["c60", "c61", "c62", "c63"], Live(members));
        Assert.True(members.Snapshot.Length < 16, $"{members.Snapshot.Length} slots walked for 4 members");
        // The publisher's old snapshot: some slots emptied (until the compaction moved the list away), none moved.
        Assert.Equal(64, before.Length);
        Assert.All(Enumerable.Range(0, 64), i => Assert.True(before.Span[i] is null || before.Span[i] == $"c{i}"));
        Assert.Contains(before.ToArray(), m => m is null);

        // Churn at a steady size: joins fill the slots leaves emptied instead of doubling the array each time.
        for (int i = 0; i < 1000; i++)
        {
            members.Add($"n{i}");
            members.Remove($"n{i}");
        }
        Assert.Equal(4, members.Count);
        Assert.True(members.Snapshot.Length <= 16, $"{members.Snapshot.Length} slots walked after churn");
    }
}
