namespace Engine.Transports;

/// <summary>Who owns the array of a <see cref="SendSegment"/>, so it goes back to the right place once sent.</summary>
internal enum SegmentOwner : byte
{
    /// <summary>A pinned pool block owned by this queue.</summary>
    Block,
    /// <summary>An ArrayPool array owned by this queue (large HTTP responses).</summary>
    ArrayPool,
    /// <summary>A reference to a <see cref="Buffers.SharedBuffer"/> (pub/sub): released, not returned, once sent.</summary>
    Shared,
}
