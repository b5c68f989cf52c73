using Engine.Buffers;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Transports;

/// <summary>
/// A busy send queue's segment lists: what writers have queued (pending) and what the transport is sending (in flight),
/// with their counts. The first write to an idle queue takes one from the server's pool and the queue gives it back once
/// everything is sent, so an idle connection holds a null where it held two arrays and three counts (memory per idle
/// connection). Guarded by the queue's lock, except the in-flight part, which only the sending transport touches.
/// </summary>
internal sealed class SendLists
{
    /// <summary>Entries a list starts with: small frames share one block, so most batches fit.</summary>
    public const int InitialLength = 2;

    // A list that grew past this is not kept in the pool: a burst's long lists would otherwise sit there for ever.
    private const int MaxPooledLength = 64;

    public SendSegment[] Pending = new SendSegment[InitialLength];
    public int PendingCount;
    public SendSegment[] InFlight = new SendSegment[InitialLength];
    public int InFlightCount;
    public int InFlightIndex;

    /// <summary>The queue's pending <see cref="SendQueue.WhenBufferedBelowAsync"/>, if any: one is pending only while bytes are buffered.</summary>
    public SendQueue.DrainWaiter? DrainWaiter;

    /// <summary>
    /// Bytes buffered at the queue's last <see cref="SendQueue.MarkBacklog"/>, here because it is asked only while bytes
    /// are buffered, which is while the lists are held: an idle connection pays nothing for it.
    /// </summary>
    public long BacklogMark;

    /// <summary>
    /// What the transport holds for the send in the kernel (io_uring: a pin or a rented msghdr block), here because the
    /// sender holds the lists for exactly as long as a send is in flight: an idle connection pays nothing for it.
    /// </summary>
    public TransportMemory SendMemory;

    /// <summary>An address the transport must give back when its send completes, and whether it is a pinning handle.</summary>
    public readonly record struct TransportMemory(nint Address, bool IsPin);

    /// <summary>A server's pool of lists for its queues; <paramref name="maxRetained"/> bounds what it keeps after a burst.</summary>
    public static ObjectPool<SendLists> CreatePool(int maxRetained) => new Pool(maxRetained);

    /// <summary>Moves everything pending in flight (the transport sends it as one batch) and starts an empty pending list.</summary>
    public void Swap()
    {
        (Pending, InFlight) = (InFlight, Pending);
        InFlightCount = PendingCount;
        InFlightIndex = 0;
        PendingCount = 0;
    }

    /// <summary>Makes room for one more pending segment: a full list doubles (and stays doubled while the lists are in use).</summary>
    public void GrowPending()
    {
        var grown = new SendSegment[Pending.Length * 2];
        Pending.AsSpan(0, PendingCount).CopyTo(grown);
        Pending = grown;
    }

    /// <summary>Given back empty (every segment released and cleared): resets the counts; false when the lists grew too long to keep.</summary>
    private static bool Reset(SendLists lists)
    {
        lists.PendingCount = lists.InFlightCount = lists.InFlightIndex = 0;
        lists.DrainWaiter = null;
        lists.BacklogMark = 0;
        lists.SendMemory = default; // the transport gave it back when its send completed
        return lists.Pending.Length <= MaxPooledLength && lists.InFlight.Length <= MaxPooledLength;
    }

    /// <summary>The shared pool, behind the event loop thread's <see cref="ThreadStash{T}"/> (lists taken and given back on a loop cost no interlocked instruction).</summary>
    /// <summary>Lets the calling thread (an event loop's) keep up to <paramref name="capacity"/> returned lists of any pool's; for the life of the thread.</summary>
    public static void KeepOnThisThread(int capacity) => Pool.KeepOnThisThread(capacity);

    private sealed class Pool(int maxRetained) : ObjectPool<SendLists>
    {
        [ThreadStatic]
        private static ThreadStash<SendLists>? _kept;

        private readonly DefaultObjectPool<SendLists> _shared = new(new Policy(), maxRetained);

        public static void KeepOnThisThread(int capacity) => _kept ??= new ThreadStash<SendLists>(capacity);

        public override SendLists Get() => _kept is { } stash && stash.TryTake(this, out SendLists kept) ? kept : _shared.Get();

        public override void Return(SendLists lists)
        {
            if (Reset(lists) && (_kept is not { } stash || !stash.TryPut(this, lists)))
            {
                _shared.Return(lists);
            }
        }
    }

    private sealed class Policy : PooledObjectPolicy<SendLists>
    {
        public override SendLists Create() => new();

        public override bool Return(SendLists lists) => Reset(lists);
    }
}
