using Engine.Buffers;

namespace Engine.Transports;

/// <summary>A run of bytes in a <see cref="SendQueue"/>: part of an array, and who owns that array.</summary>
internal struct SendSegment
{
    public byte[] Array;
    public int Offset;
    public int Count;
    public SegmentOwner Owner;
    public SharedBuffer? Shared;

    /// <summary>Whether the array is pinned (pool blocks, shared buffers in blocks): the Linux transports gather those without pinning.</summary>
    public readonly bool IsPinned => Owner == SegmentOwner.Block || (Owner == SegmentOwner.Shared && Shared!.IsPinned);
}
