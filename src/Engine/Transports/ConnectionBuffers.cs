using Engine.Buffers;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Transports;

/// <summary>
/// What every connection of a server draws on: the pinned block pool, the pool of send lists (so an idle queue holds
/// none), the send limit above which a transport stops reading, and (on the Linux loops) the descriptor
/// budget. One per server, shared by its loops (each a copy that names the loop).
/// </summary>
internal sealed record ConnectionBuffers(BlockPool Pool, ObjectPool<SendLists> Lists, long MaxBuffered)
{
    /// <summary>Descriptors the loops may hold; no limit unless the server sets its own.</summary>
    public DescriptorBudget Descriptors { get; init; } = new(int.MaxValue);

    /// <summary>
    /// The portable transport's reads and writes, reused across connections: under connection churn they were a
    /// quarter of what the server allocated per connection beyond the loops, and the garbage of short-lived connections
    /// is what made the sockets storm's gen2 collections (docs/resilience.md). Empty until a socket connection ends.
    /// </summary>
    public ObjectPool<SocketOperation> SocketOperations { get; init; } = SocketOperation.CreatePool();

    /// <summary>
    /// The Linux loop whose connections draw on this copy (each loop takes its own copy of the server's): a connection
    /// reaches its loop through the buffers it already references, not a field of its own (memory per idle connection).
    /// </summary>
    public object? Loop { get; init; }

    /// <summary>
    /// Lets the calling thread (an event loop's) keep a few blocks and send lists of any server's in front of its pools:
    /// the loop that rents them for a receive batch gets them back when the send completes.
    /// </summary>
    public static void StashOnThisThread()
    {
        BlockPool.KeepOnThisThread(KeptPerLoop);
        SendLists.KeepOnThisThread(KeptPerLoop);
    }

    /// <summary>
    /// Blocks (and send lists) an event loop's thread keeps back from the shared pools. A loop with many busy
    /// connections takes blocks for one turn's receives and gets them back from its sends in the next: 64 covers a turn
    /// of the 1,000-connection pipelined echo (1 MiB of 16 KiB blocks at most per loop, blocks the shared pool would
    /// otherwise hold).
    /// </summary>
    internal const int KeptPerLoop = 64;
}
