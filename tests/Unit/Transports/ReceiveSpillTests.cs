using Engine.Buffers;
using Engine.Transports;

namespace Engine.Tests.Unit.Transports;

/// <summary>
/// The bytes a connection keeps between reads: whatever their size, they come back as they went in, and a block of the
/// connection's pool is held exactly while a rest too large for a small array (and small enough for a block) is kept.
/// </summary>
public class ReceiveSpillTests
{
    private const int BlockSize = 4096;

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * 7 + 1);
        }
        return bytes;
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(14, 0)]
    [InlineData(2048, 0)] // the largest rest a small shared-pool array takes
    [InlineData(2049, 1)] // the smallest a block takes
    [InlineData(BlockSize - 4, 1)] // a block's whole room after the length prefix
    [InlineData(BlockSize - 3, 0)] // longer than a block holds: a shared-pool array of its own
    [InlineData(BlockSize, 0)]
    public void A_kept_rest_comes_back_whole_and_holds_a_block_only_in_between_sizes(int length, int blocks)
    {
        var pool = new BlockPool(BlockSize, maxRetained: 4);
        byte[]? kept = null;
        byte[] rest = Pattern(length);

        ReceiveSpill.Keep(ref kept, rest, pool);

        Assert.NotNull(kept);
        Assert.Equal(rest, ReceiveSpill.Bytes(kept).ToArray());
        Assert.Equal(blocks, pool.Outstanding);

        ReceiveSpill.Release(ref kept, pool);

        Assert.Null(kept);
        Assert.Equal(0, ReceiveSpill.Bytes(kept).Length);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Nothing_to_keep_keeps_nothing_and_a_second_release_is_harmless()
    {
        var pool = new BlockPool(BlockSize, maxRetained: 4);
        byte[]? kept = null;

        ReceiveSpill.Keep(ref kept, default, pool);
        Assert.Null(kept);

        ReceiveSpill.Keep(ref kept, Pattern(3000), pool);
        ReceiveSpill.Release(ref kept, pool);
        ReceiveSpill.Release(ref kept, pool);

        Assert.Null(kept);
        Assert.Equal(0, pool.Outstanding);
    }
}
