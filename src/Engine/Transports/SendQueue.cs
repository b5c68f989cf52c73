using System.Buffers;
using System.Runtime.CompilerServices;
using Engine.Buffers;
using Engine.Session;

namespace Engine.Transports;

/// <summary>
/// A connection's outgoing bytes, created and disposed by the transport that sends them: written by any thread (the
/// session frames into it), taken in batches by the transport so that many frames leave in one send. Knows bytes, not
/// frames. Writes are copied straight into pooled blocks (no per-message allocation); consecutive small writes share
/// a block. One small lock guards the pending list; it is a leaf lock, never held while calling out (and not reentrant). While the
/// transport is corked (processing a receive batch), writers only append and the transport flushes once after; outside
/// a batch, the write that finds the queue idle asks the transport to flush.
/// This file is the writers' side; <c>SendQueue.Sending.cs</c> is the transport's (cork, batches in flight, teardown).
/// A transport's connection derives from it (<see cref="TransportConnection"/>): one object per connection less, and no
/// references between the two (memory per idle connection).
/// </summary>
internal partial class SendQueue : IFrameOutput, IBufferWriter<byte>
{
    private const int Locked = int.MinValue;

    private readonly ConnectionBuffers _buffers;
    // Null while idle: the lists come from the server's pool with the first frame queued and go back once everything is
    // sent (memory per idle connection).
    private SendLists? _lists;
    // Written only under the lock (plain stores: no interlocked instruction per frame written), read anywhere.
    private long _buffered;
    // The queue's lock and its cork in one word (memory per idle connection): the sign bit is the lock, the rest is the
    // thread whose receive batch has corked the queue, 0 when not corked (managed thread ids are positive). A spin lock,
    // not a monitor: every frame written takes it, and the monitor's enter and exit (a runtime call, a thread-local
    // lookup and two interlocked instructions) were 5-6% of the loop thread in the pipelined echo; this is one
    // interlocked instruction and a plain store. It is a leaf lock held for a copy of at most a block, so a waiter spins
    // briefly rather than sleeps.
    private int _gate;
    private bool _completed;
    private bool _sending;
    // A flush was asked of the transport and has not begun: later writes need not ask again (a broadcast burst queues
    // many frames per subscriber per loop turn; each used to post the same connection to the loop again).
    private bool _flushRequested;
    private bool _disposed;

    /// <param name="buffers">The server's blocks for written bytes and its pool of <see cref="SendLists"/>.</param>
    public SendQueue(ConnectionBuffers buffers) => _buffers = buffers;

    /// <summary>A queue of its own (tests, tools): its own list pool, no limit, no transport.</summary>
    public SendQueue(BlockPool pool)
        : this(new ConnectionBuffers(pool, SendLists.CreatePool(16), long.MaxValue))
    {
    }

    /// <summary>What the server's connections draw on: blocks, segment lists, the send limit.</summary>
    public ConnectionBuffers Buffers => _buffers;

    private BlockPool Pool => _buffers.Pool;

    /// <summary>Whether the queue holds send lists: only while bytes are queued or in flight (tests; memory per idle connection).</summary>
    internal bool HoldsLists => Volatile.Read(ref _lists) is not null;

    /// <summary>Bytes queued and not yet handed to the kernel.</summary>
    public long BufferedBytes => Volatile.Read(ref _buffered);

    /// <summary>Whether the final (close) frame has been queued: nothing may follow it.</summary>
    public bool IsCompleted
    {
        get
        {
            using Held held = Hold();
            return _completed;
        }
    }

    /// <inheritdoc/>
    public EnqueueResult TryWrite(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, long limit, bool final)
    {
        int size = header.Length + body.Length;
        bool flush;
        using (Hold())
        {
            EnqueueResult admitted = AdmitLocked(size, limit);
            // Replies the receiving thread writes during its own batch are never refused: the transport stops reading
            // until the queue is back under the limit instead, so a request/response peer is slowed down by TCP rather
            // than losing replies. (The thread is asked only then: it is a thread-local read per frame otherwise.)
            if (admitted == EnqueueResult.OverLimit && (_gate & ~Locked) == Environment.CurrentManagedThreadId)
            {
                admitted = EnqueueResult.Queued;
            }
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
        using (Hold())
        {
            EnqueueResult admitted = AdmitLocked(buffer.Length, limit);
            if (admitted != EnqueueResult.Queued)
            {
                return admitted;
            }
            SendLists lists = ListsLocked();
            if (lists.PendingCount == lists.Pending.Length)
            {
                lists.GrowPending();
            }
            buffer.AddReference();
            lists.Pending[lists.PendingCount++] = new SendSegment { Array = buffer.Array, Offset = 0, Count = buffer.Length, Owner = SegmentOwner.Shared, Shared = buffer };
            Volatile.Write(ref _buffered, _buffered + buffer.Length);
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
        bool due = (_gate & ~Locked) == 0 && !_sending && !_flushRequested && _lists is { PendingCount: > 0 };
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

    /// <inheritdoc/>
    public void MarkBacklog()
    {
        using (Hold())
        {
            if (_lists is { } lists)
            {
                lists.BacklogMark = _buffered;
            }
        }
    }

    /// <inheritdoc/>
    public bool DrainedSinceMark
    {
        get
        {
            using (Hold())
            {
                long buffered = _buffered;
                return buffered > 0 && _lists is { } lists && buffered < lists.BacklogMark;
            }
        }
    }

    /// <summary>
    /// Completes when <see cref="BufferedBytes"/> is at or below <paramref name="bytes"/> (at once if it already is);
    /// fails with <see cref="InvalidOperationException"/> when the connection ends first. One waiter at a time.
    /// </summary>
    public Task WhenBufferedBelowAsync(long bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        DrainWaiter waiter;
        using (Hold())
        {
            if (_disposed)
            {
                return Task.FromException(new InvalidOperationException("The connection has ended."));
            }
            // Bytes buffered mean lists held (they are taken before the bytes are counted and go back once all are sent),
            // so the waiter rides in them: an idle queue holds no field for it (memory per idle connection).
            if (_buffered <= bytes || _lists is not { } lists)
            {
                return Task.CompletedTask;
            }
            if (lists.DrainWaiter is not null)
            {
                throw new InvalidOperationException("Only one WhenBufferedBelowAsync may be pending per connection.");
            }
            waiter = new DrainWaiter(bytes);
            Volatile.Write(ref lists.DrainWaiter, waiter);
        }
        // A send that completed between the check and the registration must not be missed.
        if (Volatile.Read(ref _buffered) <= bytes)
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
        using (Hold())
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
        SendLists lists = ListsLocked();
        if (lists.PendingCount > 0)
        {
            ref SendSegment tail = ref lists.Pending[lists.PendingCount - 1];
            int free = tail.Array.Length - tail.Offset - tail.Count;
            if (free >= size)
            {
                return tail.Array.AsSpan(tail.Offset + tail.Count, free);
            }
        }
        if (lists.PendingCount == lists.Pending.Length)
        {
            lists.GrowPending();
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
        lists.Pending[lists.PendingCount++] = new SendSegment { Array = array, Offset = 0, Count = 0, Owner = owner };
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
        SendLists lists = _lists!;
        lists.Pending[lists.PendingCount - 1].Count += count;
        Volatile.Write(ref _buffered, _buffered + count);
    }

    /// <summary>Takes the queue's lock until the result is disposed (<c>using</c>).</summary>
    private Held Hold()
    {
        int seen = _gate;
        if (seen < 0 || Interlocked.CompareExchange(ref _gate, seen | Locked, seen) != seen)
        {
            HoldContended();
        }
        return new Held(this);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void HoldContended()
    {
        SpinWait spin = default;
        while (true)
        {
            spin.SpinOnce(sleep1Threshold: -1); // yields the core when spinning long, never sleeps a millisecond
            int seen = Volatile.Read(ref _gate);
            if (seen >= 0 && Interlocked.CompareExchange(ref _gate, seen | Locked, seen) == seen)
            {
                return;
            }
        }
    }

    /// <summary>The lock, held: disposing it releases (only the holder writes the word meanwhile, so a plain release store).</summary>
    private readonly ref struct Held(SendQueue queue)
    {
        public void Dispose() => Volatile.Write(ref queue._gate, queue._gate & ~Locked);
    }

    /// <summary>The lists to append to: the queue's own while it is busy, else fresh ones from the server's pool.</summary>
    private SendLists ListsLocked() => _lists ??= _buffers.Lists.Get();
}
