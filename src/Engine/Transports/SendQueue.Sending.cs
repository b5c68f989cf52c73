using System.Buffers;

namespace Engine.Transports;

// The transport's side of the queue: a receive batch corks it, a flush takes what is pending as one batch in flight and
// reports what the kernel took, and the end of the connection gives every buffer back.
internal partial class SendQueue
{
    /// <summary>Starts a receive batch: writes only append until <see cref="Uncork"/>.</summary>
    public void Cork()
    {
        lock (_lock)
        {
            _corked = true;
            _corkOwner = Environment.CurrentManagedThreadId;
        }
    }

    /// <summary>Ends a receive batch; true when the caller should flush now.</summary>
    public bool Uncork()
    {
        lock (_lock)
        {
            _corked = false;
            return _pendingCount > 0 && !_sending;
        }
    }

    /// <summary>
    /// Claims the right to send and moves everything pending to the in-flight list. False when another flush
    /// owns it or nothing is pending. The claimer must drain with <see cref="GetInFlight"/>/<see cref="OnSent"/>.
    /// </summary>
    public bool TryBeginSend()
    {
        lock (_lock)
        {
            _flushRequested = false;
            if (_sending || _pendingCount == 0)
            {
                return false;
            }
            _sending = true;
            SwapLocked();
            return true;
        }
    }

    /// <summary>
    /// After the in-flight list is fully sent: takes the next batch if one is pending (true), else releases the
    /// send right (false).
    /// </summary>
    public bool TryContinueSend()
    {
        lock (_lock)
        {
            if (_pendingCount == 0)
            {
                _sending = false;
                ReturnListsLocked();
                return false;
            }
            SwapLocked();
            return true;
        }
    }

    /// <summary>The unsent part of the in-flight list, first segment already offset by what was sent.</summary>
    public ReadOnlySpan<SendSegment> GetInFlight() => _inFlight.AsSpan(_inFlightIndex, _inFlightCount - _inFlightIndex);

    /// <summary>Records <paramref name="bytes"/> as sent; returns true when the in-flight list is done.</summary>
    public bool OnSent(int bytes)
    {
        long left = Interlocked.Add(ref _buffered, -bytes);
        if (Volatile.Read(ref _drainWaiter) is { } waiter && left <= waiter.Threshold)
        {
            SignalDrain();
        }
        while (_inFlightIndex < _inFlightCount)
        {
            ref SendSegment segment = ref _inFlight[_inFlightIndex];
            if (bytes < segment.Count)
            {
                segment.Offset += bytes;
                segment.Count -= bytes;
                return false;
            }
            bytes -= segment.Count;
            Release(ref segment);
            _inFlightIndex++;
        }
        return true;
    }

    /// <summary>Returns every buffer to its pool; the connection is gone.</summary>
    public void Dispose()
    {
        DrainWaiter? waiter;
        lock (_lock)
        {
            _completed = true;
            _disposed = true;
            waiter = _drainWaiter;
            _drainWaiter = null;
            for (int i = _inFlightIndex; i < _inFlightCount; i++)
            {
                Release(ref _inFlight[i]);
            }
            _inFlightIndex = _inFlightCount = 0;
            for (int i = 0; i < _pendingCount; i++)
            {
                Release(ref _pending[i]);
            }
            _pendingCount = 0;
            _buffered = 0;
            ReturnListsLocked();
        }
        waiter?.TrySetException(new InvalidOperationException("The connection has ended."));
    }

    private void SignalDrain()
    {
        DrainWaiter? waiter;
        lock (_lock)
        {
            waiter = _drainWaiter;
            _drainWaiter = null;
        }
        waiter?.TrySetResult();
    }

    /// <summary>Everything sent and nothing pending: pooled lists go back (their entries are already cleared by <see cref="Release"/>).</summary>
    private void ReturnListsLocked()
    {
        if (_pendingCount == 0 && _pending.Length == PooledListLength)
        {
            ReturnList(_pending);
            _pending = [];
        }
        if (_inFlightIndex == _inFlightCount && _inFlight.Length == PooledListLength)
        {
            ReturnList(_inFlight);
            _inFlight = [];
            _inFlightIndex = _inFlightCount = 0;
        }
    }

    private void ReturnList(SendSegment[] list)
    {
        if (list.Length == PooledListLength)
        {
            System.Array.Clear(list);
            _buffers.SegmentLists.Return(list);
        }
    }

    private void SwapLocked()
    {
        (_pending, _inFlight) = (_inFlight, _pending);
        _inFlightCount = _pendingCount;
        _inFlightIndex = 0;
        _pendingCount = 0;
    }

    private void Release(ref SendSegment segment)
    {
        switch (segment.Owner)
        {
            case SegmentOwner.Block:
                Pool.Return(segment.Array);
                break;
            case SegmentOwner.Shared:
                segment.Shared!.Release();
                break;
            default:
                ArrayPool<byte>.Shared.Return(segment.Array);
                break;
        }
        segment = default;
    }

    /// <summary>A pending <see cref="WhenBufferedBelowAsync"/>: its threshold rides with it, so a queue nobody waits on holds only a null (memory per idle connection).</summary>
    private sealed class DrainWaiter(long threshold) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Threshold { get; } = threshold;
    }
}
