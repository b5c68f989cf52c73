using System.Buffers;
using Engine.Buffers;
using Engine.Session;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Transports;

/// <summary>
/// A connection's outgoing bytes, created and disposed by the transport that sends them: written by any thread (the
/// session frames into it), taken in batches by the transport so that many frames leave in one send. Knows bytes, not
/// frames. Writes are copied straight into pooled blocks (no per-message allocation); consecutive small writes share
/// a block. One small lock guards the pending list; it is a leaf lock, never held while calling out. While the
/// transport is corked (processing a receive batch), writers only append and the transport flushes once after; outside
/// a batch, the write that finds the queue idle asks the transport to flush.
/// This file is the writers' side; <c>SendQueue.Sending.cs</c> is the transport's (cork, batches in flight, teardown).
/// A transport's connection derives from it (<see cref="TransportConnection"/>): one object per connection less, and no
/// references between the two (memory per idle connection).
/// </summary>
internal partial class SendQueue : IFrameOutput, IBufferWriter<byte>
{
    /// <summary>Length of the segment lists shared through the server's pool: small frames share one block, so most batches fit.</summary>
    public const int PooledListLength = 2;

    private readonly ConnectionBuffers _buffers;
    // The queue locks itself (a thin monitor, no lock object per connection): it is internal, so nothing else locks it.
    private object _lock => this;
    // Lists are rented when the first frame is queued and returned once everything is sent, so an idle connection holds
    // none (memory per idle connection); a list that had to grow stays with its queue, so a busy queue does not reallocate.
    private SendSegment[] _pending = [];
    private int _pendingCount;
    private SendSegment[] _inFlight = [];
    private int _inFlightCount;
    private int _inFlightIndex;
    private long _buffered;
    private bool _completed;
    private bool _sending;
    // A flush was asked of the transport and has not begun: later writes need not ask again (a broadcast burst queues
    // many frames per subscriber per loop turn; each used to post the same connection to the loop again).
    private bool _flushRequested;
    private bool _corked;
    private int _corkOwner;
    private bool _disposed;
    private DrainWaiter? _drainWaiter;

    /// <param name="buffers">The server's blocks for written bytes and segment lists of <see cref="PooledListLength"/> entries.</param>
    public SendQueue(ConnectionBuffers buffers) => _buffers = buffers;

    /// <summary>A queue of its own (tests, tools): its own list pool, no limit, no transport.</summary>
    public SendQueue(BlockPool pool)
        : this(new ConnectionBuffers(pool, CreateListPool(16), long.MaxValue))
    {
    }

    /// <summary>What the server's connections draw on: blocks, segment lists, the send limit.</summary>
    public ConnectionBuffers Buffers => _buffers;

    private BlockPool Pool => _buffers.Pool;

    /// <summary>A server's pool of segment lists for its queues; <paramref name="maxRetained"/> bounds what it keeps after a burst.</summary>
    public static ObjectPool<SendSegment[]> CreateListPool(int maxRetained) =>
        new DefaultObjectPool<SendSegment[]>(new ListPolicy(), maxRetained);

    /// <summary>Bytes queued and not yet handed to the kernel.</summary>
    public long BufferedBytes => Interlocked.Read(ref _buffered);

    /// <summary>Whether the final (close) frame has been queued: nothing may follow it.</summary>
    public bool IsCompleted
    {
        get
        {
            lock (_lock)
            {
                return _completed;
            }
        }
    }

    /// <inheritdoc/>
    public EnqueueResult TryWrite(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, long limit, bool final)
    {
        int size = header.Length + body.Length;
        bool flush;
        lock (_lock)
        {
            // Replies the receiving thread writes during its own batch are never refused: the transport stops reading
            // until the queue is back under the limit instead, so a request/response peer is slowed down by TCP rather
            // than losing replies.
            bool reply = _corked && _corkOwner == Environment.CurrentManagedThreadId;
            EnqueueResult admitted = AdmitLocked(size, reply ? long.MaxValue : limit);
            if (admitted != EnqueueResult.Queued)
            {
                return admitted;
            }
            if (size <= Pool.BlockSize)
            {
                Span<byte> span = GetSpanLocked(size);
                header.CopyTo(span);
                body.CopyTo(span.Slice(header.Length));
                AdvanceLocked(size);
            }
            else
            {
                // A large write spans a chain of pooled blocks (the transport gathers them): no large array is rented.
                AppendLocked(header);
                AppendLocked(body);
            }
            _completed = final;
            flush = FlushDueLocked();
        }
        RequestFlushIf(flush);
        return EnqueueResult.Queued;
    }

    /// <inheritdoc/>
    public EnqueueResult TryWrite(SharedBuffer buffer, long limit)
    {
        bool flush;
        lock (_lock)
        {
            EnqueueResult admitted = AdmitLocked(buffer.Length, limit);
            if (admitted != EnqueueResult.Queued)
            {
                return admitted;
            }
            if (_pendingCount == _pending.Length)
            {
                GrowPendingLocked();
            }
            buffer.AddReference();
            _pending[_pendingCount++] = new SendSegment { Array = buffer.Array, Offset = 0, Count = buffer.Length, Owner = SegmentOwner.Shared, Shared = buffer };
            Interlocked.Add(ref _buffered, buffer.Length);
            flush = FlushDueLocked();
        }
        RequestFlushIf(flush);
        return EnqueueResult.Queued;
    }

    /// <summary>
    /// Whether <paramref name="size"/> more bytes may be queued: not after the final write, and not past <paramref
    /// name="limit"/> (an empty queue takes any one write).
    /// </summary>
    private EnqueueResult AdmitLocked(int size, long limit)
    {
        if (_completed)
        {
            return EnqueueResult.Completed;
        }
        return _buffered > 0 && _buffered + size > limit ? EnqueueResult.OverLimit : EnqueueResult.Queued;
    }

    /// <summary>After a write: whether this writer must ask the transport to flush (not corked, not sending, not asked already).</summary>
    private bool FlushDueLocked()
    {
        bool due = !_corked && !_sending && !_flushRequested && _pendingCount > 0;
        _flushRequested |= due;
        return due;
    }

    private void RequestFlushIf(bool due)
    {
        if (due)
        {
            OnFlushDue();
        }
    }

    /// <summary>A write outside a receive batch found the queue idle: the transport is asked to flush. A queue of its own has none: the caller drains.</summary>
    protected virtual void OnFlushDue()
    {
    }

    /// <summary>
    /// Completes when <see cref="BufferedBytes"/> is at or below <paramref name="bytes"/> (at once if it already is);
    /// fails with <see cref="InvalidOperationException"/> when the connection ends first. One waiter at a time.
    /// </summary>
    public Task WhenBufferedBelowAsync(long bytes, CancellationToken cancellationToken)
    {
        DrainWaiter waiter;
        lock (_lock)
        {
            if (_disposed)
            {
                return Task.FromException(new InvalidOperationException("The connection has ended."));
            }
            if (Interlocked.Read(ref _buffered) <= bytes)
            {
                return Task.CompletedTask;
            }
            if (_drainWaiter is not null)
            {
                throw new InvalidOperationException("Only one WhenBufferedBelowAsync may be pending per connection.");
            }
            waiter = new DrainWaiter(bytes);
            _drainWaiter = waiter;
        }
        // A send that completed between the check and the registration must not be missed.
        if (Interlocked.Read(ref _buffered) <= bytes)
        {
            SignalDrain();
        }
        return cancellationToken.CanBeCanceled ? waiter.Task.WaitAsync(cancellationToken) : waiter.Task;
    }

    /// <inheritdoc/>
    public void WriteHttp<TState>(TState state, Action<IBufferWriter<byte>, TState> write, bool final)
        where TState : allows ref struct
    {
        bool flush;
        lock (_lock)
        {
            write(this, state);
            _completed |= final;
            flush = FlushDueLocked();
        }
        RequestFlushIf(flush);
    }

    // IBufferWriter<byte>: only through WriteHttp (the caller holds the lock).
    void IBufferWriter<byte>.Advance(int count) => AdvanceLocked(count);

    Memory<byte> IBufferWriter<byte>.GetMemory(int sizeHint) => throw new NotSupportedException();

    Span<byte> IBufferWriter<byte>.GetSpan(int sizeHint) => GetSpanLocked(Math.Max(sizeHint, 256));

    private Span<byte> GetSpanLocked(int size)
    {
        if (_pendingCount > 0)
        {
            ref SendSegment tail = ref _pending[_pendingCount - 1];
            int free = tail.Array.Length - tail.Offset - tail.Count;
            if (free >= size)
            {
                return tail.Array.AsSpan(tail.Offset + tail.Count, free);
            }
        }
        if (_pendingCount == _pending.Length)
        {
            GrowPendingLocked();
        }
        byte[] array;
        SegmentOwner owner;
        if (size <= Pool.BlockSize)
        {
            array = Pool.Rent();
            owner = SegmentOwner.Block;
        }
        else
        {
            array = ArrayPool<byte>.Shared.Rent(size);
            owner = SegmentOwner.ArrayPool;
        }
        _pending[_pendingCount++] = new SendSegment { Array = array, Offset = 0, Count = 0, Owner = owner };
        return array.AsSpan();
    }

    private void AppendLocked(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            Span<byte> span = GetSpanLocked(1);
            int count = Math.Min(span.Length, data.Length);
            data.Slice(0, count).CopyTo(span);
            AdvanceLocked(count);
            data = data.Slice(count);
        }
    }

    private void AdvanceLocked(int count)
    {
        _pending[_pendingCount - 1].Count += count;
        Interlocked.Add(ref _buffered, count);
    }

    private void GrowPendingLocked()
    {
        if (_pending.Length == 0)
        {
            _pending = _buffers.SegmentLists.Get() ?? new SendSegment[PooledListLength];
            return;
        }
        var grown = new SendSegment[_pending.Length * 2];
        _pending.AsSpan(0, _pendingCount).CopyTo(grown);
        ReturnList(_pending);
        _pending = grown;
    }

    private sealed class ListPolicy : PooledObjectPolicy<SendSegment[]>
    {
        public override SendSegment[] Create() => new SendSegment[PooledListLength];

        public override bool Return(SendSegment[] list) => list.Length == PooledListLength;
    }
}
