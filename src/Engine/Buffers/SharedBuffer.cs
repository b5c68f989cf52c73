using System.Buffers;

namespace Engine.Buffers;

/// <summary>
/// Bytes written once and referenced by many send queues (pub/sub fan-out: a message framed once for every
/// subscriber). Reference-counted: every queue that holds it releases it once sent or dropped; the last release
/// returns the array to its pool. Knows nothing of what the bytes are.
/// </summary>
internal sealed class SharedBuffer
{
    private readonly BlockPool _blocks;
    private readonly ArrayPool<byte> _large;
    private int _references;

    private SharedBuffer(BlockPool blocks, ArrayPool<byte> large, byte[] array, int length, bool pinned)
    {
        _blocks = blocks;
        _large = large;
        Array = array;
        Length = length;
        IsPinned = pinned;
        _references = 1;
    }

    public byte[] Array { get; }

    public int Length { get; }

    /// <summary>The written bytes; filled by the creator before the buffer is shared.</summary>
    public Span<byte> Span => Array.AsSpan(0, Length);

    /// <summary>Whether <see cref="Array"/> is a pinned pool block (the Linux transports gather those without pinning).</summary>
    public bool IsPinned { get; }

    /// <summary>
    /// A buffer of <paramref name="length"/> bytes: a pinned pool block when it fits one, else an array from
    /// <paramref name="large"/>. The caller holds the first reference and fills <see cref="Span"/>.
    /// </summary>
    public static SharedBuffer Rent(int length, BlockPool blocks, ArrayPool<byte> large)
    {
        bool pinned = length <= blocks.BlockSize;
        byte[] array = pinned ? blocks.Rent() : large.Rent(length);
        return new SharedBuffer(blocks, large, array, length, pinned);
    }

    public void AddReference() => Interlocked.Increment(ref _references);

    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            if (IsPinned)
            {
                _blocks.Return(Array);
            }
            else
            {
                _large.Return(Array);
            }
        }
        System.Diagnostics.Debug.Assert(left >= 0, "SharedBuffer released too often");
    }
}
