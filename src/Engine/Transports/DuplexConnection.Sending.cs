using System.Runtime.CompilerServices;

namespace Engine.Transports;

// The send side: a flush asked from another thread (a broadcast, a heartbeat) runs as this connection's thread-pool work
// item, or at once on a thread marked to send; it sends what the queue holds, small segments gathered into one write.
internal abstract partial class DuplexConnection
{
    // Set on a thread whose flushes start the send at once (the server's timer thread): see SendOnThisThread.
    [ThreadStatic]
    private static bool _sendsHere;

    /// <summary>
    /// From now on, a flush asked on the calling thread starts the send on it rather than queueing a thread-pool work
    /// item. For the server's timer thread: a heartbeat ping is one small non-blocking send, and with many connections
    /// there are thousands a second; queued, they shared the pool with every connection's receives (in the
    /// connection-storm benchmark the pool's queue peaked at 1,590 items; with this, at 1-5).
    /// </summary>
    public static void SendOnThisThread() => _sendsHere = true;

    public override void RequestFlush()
    {
        if (Interlocked.Exchange(ref _flushScheduled, 1) == 0)
        {
            if (_sendsHere)
            {
                ((IThreadPoolWorkItem)this).Execute();
            }
            else
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        Volatile.Write(ref _flushScheduled, 0);
        // Take a reference before claiming the send, so teardown cannot return the buffers under a starting flush.
        if (!TryAddReference())
        {
            return;
        }
        if (Output.TryBeginSend())
        {
            StartFlush();
        }
        else
        {
            Release();
        }
    }

    /// <summary>
    /// Runs <see cref="FlushAsync"/> without waiting for it; the caller has claimed the send and taken a reference. The
    /// receive loop goes on reading while a send waits for the peer's window: a peer that reads only once its own
    /// burst is sent would otherwise wait on our send while we wait on its reads (the read side stops instead when the
    /// replies go over the limit).
    /// </summary>
    private void StartFlush()
    {
        ValueTask flush = FlushAsync();
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult(); // hands the pooled state machine back
        }
        else
        {
            _ = flush.AsTask(); // FlushAsync observes its own errors
        }
    }

    /// <summary>Writes from the start of <paramref name="buffer"/>: the bytes written (at least one), or -1 when the transport failed.</summary>
    protected abstract ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer);

    /// <summary>Sends everything the queue holds; the caller has claimed the send right and taken a reference.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushAsync()
    {
        SendQueue output = Output;
        try
        {
            do
            {
                while (true)
                {
                    int sent;
                    byte[]? gathered = Gather(output.GetInFlight(), out int length);
                    if (gathered is null)
                    {
                        SendSegment segment = output.GetInFlight()[0];
                        sent = await SendAsync(segment.Array.AsMemory(segment.Offset, segment.Count)).ConfigureAwait(false);
                    }
                    else
                    {
                        try
                        {
                            sent = await SendAsync(gathered.AsMemory(0, length)).ConfigureAwait(false);
                        }
                        finally
                        {
                            Pool.Return(gathered);
                        }
                    }
                    if (sent < 0)
                    {
                        RecordFailure(receiving: false);
                        Abort();
                        return;
                    }
                    // A partial write leaves the rest in flight: the next turn sends (or gathers) from there.
                    bool done = output.OnSent(sent);
                    if (output.BufferedBytes <= MaxBuffered)
                    {
                        Volatile.Read(ref _drain)?.Set();
                    }
                    if (done)
                    {
                        break;
                    }
                }
            }
            while (output.TryContinueSend());
            TryHalfClose();
        }
        catch (Exception exception)
        {
            if (Volatile.Read(ref _aborted) == 0)
            {
                _error ??= exception;
            }
            Abort();
        }
        finally
        {
            Release();
        }
    }

    /// <summary>
    /// Copies the leading small segments into one pooled block, so they leave in one send: a broadcast queues each
    /// message as a segment of its own (the shared frame), and one send call per 34-byte frame cost the fan-out more
    /// than the copy (and over TLS a record each). Null when the first segment is large enough to go alone.
    /// </summary>
    private byte[]? Gather(ReadOnlySpan<SendSegment> segments, out int length)
    {
        length = 0;
        if (segments.Length < 2 || segments[0].Count + segments[1].Count > Pool.BlockSize)
        {
            return null;
        }
        byte[] block = Pool.Rent();
        foreach (SendSegment segment in segments)
        {
            if (length + segment.Count > block.Length)
            {
                break;
            }
            segment.Array.AsSpan(segment.Offset, segment.Count).CopyTo(block.AsSpan(length));
            length += segment.Count;
        }
        return block;
    }
}
