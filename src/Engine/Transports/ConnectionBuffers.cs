using Engine.Buffers;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Transports;

/// <summary>
/// What every connection of a server draws on: the pinned block pool, the pool of send-segment lists (so an idle
/// queue holds none), and the send limit above which a transport stops reading. One per server, shared by its loops.
/// </summary>
internal sealed record ConnectionBuffers(BlockPool Pool, ObjectPool<SendSegment[]> SegmentLists, long MaxBuffered);
