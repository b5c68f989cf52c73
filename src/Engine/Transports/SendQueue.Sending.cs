using System.Buffers;

namespace Engine.Transports;

// The transport's side of the queue: a receive batch corks it, a flush takes what is pending as one batch in flight and
// reports what the kernel took, and the end of the connection gives every buffer back.
internal partial class SendQueue
{
    /// <summary>Starts a receive batch: writes only append until <see cref="Uncork"/>.</summary>
    public void Cork()
    {
        using (Hold())
        {
            _gate = Environment.CurrentManagedThreadId | Locked;
        }
    }

    /// <summary>Ends a receive batch; true when the caller should flush now.</summary>
    public bool Uncork()
    {
        using (Hold())
        {
            _gate = Locked;
            return _lists is { PendingCount: > 0 } && !_sending;
        }
    }

    /// <summary>
    /// Claims the right to send and moves everything pending to the in-flight list. False when another flush
    /// owns it or nothing is pending. The claimer must drain with <see cref="GetInFlight"/>/<see cref="OnSent"/>.
    /// </summary>
    public bool TryBeginSend()
    {
        using (Hold())
        {
            _flushRequested = false;
            if (_sending || _lists is not { PendingCount: > 0 } lists)
            {
                return false;
            }
            _sending = true;
            lists.Swap();
            return true;
        }
    }

    /// <summary>
    /// After the in-flight list is fully sent: takes the next batch if one is pending (true), else releases the
    /// send right (false).
    /// </summary>
    public bool TryContinueSend()
    {
        using (Hold())
        {
            if (_lists is not { PendingCount: > 0 } lists)
            {
                _sending = false;
                ReturnListsLocked();
                return false;
            }
            lists.Swap();
            return true;
        }
    }

    /// <summary>The transport's memory for the send in flight, kept in the lists (held while sending); only while it holds the send right.</summary>
    protected ref SendLists.TransportMemory SendMemory => ref _lists!.SendMemory;

    /// <summary>The unsent part of the in-flight list, first segment already offset by what was sent.</summary>
    public ReadOnlySpan<SendSegment> GetInFlight() =>
        _lists is { } lists ? lists.InFlight.AsSpan(lists.InFlightIndex, lists.InFlightCount - lists.InFlightIndex) : default;

    /// <summary>Records <paramref name="bytes"/> as sent; returns true when the in-flight list is done.</summary>
    public bool OnSent(int bytes)
    {
        long left;
        using (Hold())
        {
            left = _buffered - bytes; // once per send, where the lock-free count cost an interlocked add per frame written
            Volatile.Write(ref _buffered, left);
        }
        // The sender holds the lists while it sends (they go back only once nothing is in flight); none after Dispose.
        if (_lists is not { } lists)
        {
            return true;
        }
        if (Volatile.Read(ref lists.DrainWaiter) is { } waiter && left <= waiter.Threshold)
        {
            SignalDrain();
        }
        while (lists.InFlightIndex < lists.InFlightCount)
        {
            ref SendSegment segment = ref lists.InFlight[lists.InFlightIndex];
            if (bytes < segment.Count)
            {
                segment.Offset += bytes;
                segment.Count -= bytes;
                return false;
            }
            bytes -= segment.Count;
            Release(ref segment);
            lists.InFlightIndex++;
        }
        return true;
    }

    /// <summary>Returns every buffer to its pool; the connection is gone.</summary>
    public void Dispose()
    {
        DrainWaiter? waiter = null;
        using (Hold())
        {
            _completed = true;
            _disposed = true;
            if (_lists is { } lists)
            {
                waiter = lists.DrainWaiter;
                lists.DrainWaiter = null;
                for (int i = lists.InFlightIndex; i < lists.InFlightCount; i++)
                {
                    Release(ref lists.InFlight[i]);
                }
                for (int i = 0; i < lists.PendingCount; i++)
                {
                    Release(ref lists.Pending[i]);
                }
                lists.InFlightIndex = lists.InFlightCount = lists.PendingCount = 0;
                _sending = false;
                ReturnListsLocked();
            }
            Volatile.Write(ref _buffered, 0);
        }
        waiter?.TrySetException(new InvalidOperationException("The connection has ended."));
    }

    private void SignalDrain()
    {
        DrainWaiter? waiter;
        using (Hold())
        {
            waiter = _lists?.DrainWaiter;
            if (waiter is not null)
            {
                _lists!.DrainWaiter = null;
            }
        }
        waiter?.TrySetResult();
    }

    /// <summary>Everything sent and nothing pending: the lists go back to the pool (their entries already cleared by <see cref="Release"/>).</summary>
    private void ReturnListsLocked()
    {
        if (_lists is { PendingCount: 0 } lists && !_sending)
        {
            _lists = null;
            // Everything is sent, so a waiter's threshold (never negative) is reached; Dispose takes it before this.
            lists.DrainWaiter?.TrySetResult();
            lists.DrainWaiter = null;
            _buffers.Lists.Return(lists);
        }
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

    /// <summary>A pending <see cref="WhenBufferedBelowAsync"/>, with its threshold; held by the queue's <see cref="SendLists"/>.</summary>
    internal sealed class DrainWaiter(long threshold) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Threshold { get; } = threshold;
    }
}
