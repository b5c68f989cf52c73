using System.Buffers;
using Engine.Protocol;

namespace Engine.Runtime;

/// <summary>
/// A frame serialized once and referenced by many send queues (pub/sub fan-out). Reference-counted: every queue that
/// holds it releases it once sent or dropped; the last release returns the buffer to its pool.
/// </summary>
internal sealed class SharedFrame
{
    private readonly BlockPool _blocks;
    private readonly ArrayPool<byte> _large;
    private int _references;

    private SharedFrame(BlockPool blocks, ArrayPool<byte> large, byte[] array, int length, bool pinned)
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

    /// <summary>Whether <see cref="Array"/> is a pinned pool block (the epoll transport gathers those without pinning).</summary>
    public bool IsPinned { get; }

    /// <summary>
    /// Frames <paramref name="payload"/> as one unmasked server frame (<paramref name="rsv"/>: RSV1 for a payload already
    /// compressed with permessage-deflate); the caller holds the first reference.
    /// </summary>
    public static SharedFrame Create(Opcode opCode, ReadOnlySpan<byte> payload, BlockPool blocks, ArrayPool<byte> large, byte rsv = 0)
    {
        int headerLength = FrameWriter.HeaderLength(payload.Length, masked: false);
        int length = headerLength + payload.Length;
        bool pinned = length <= blocks.BlockSize;
        byte[] array = pinned ? blocks.Rent() : large.Rent(length);
        FrameWriter.WriteHeader(array, opCode, fin: true, payload.Length, rsv);
        payload.CopyTo(array.AsSpan(headerLength));
        return new SharedFrame(blocks, large, array, length, pinned);
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
        System.Diagnostics.Debug.Assert(left >= 0, "SharedFrame released too often");
    }
}
