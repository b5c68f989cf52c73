using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Engine.Runtime;

namespace Engine.Transports;

/// <summary>
/// One connection's I/O: a receive loop and a send path over an async byte transport (a socket or a stream).
/// Moves bytes and knows nothing of frames. A waiting connection holds no block: it waits for readability with a
/// zero-byte read, rents a block only for the read itself, and returns it before waiting again; bytes it could not
/// consume yet (a half-received request head, a partial frame header) wait in a small <see cref="ReceiveSpill"/>, as on
/// the Linux loops. Sends are batched: everything queued during a receive batch leaves in one flush; sends from other
/// threads are gathered by one thread-pool work item per connection.
/// </summary>
internal abstract class DuplexConnection : TransportConnection, IThreadPoolWorkItem, IValueTaskSource
{
    private readonly BlockPool _pool;
    private readonly long _maxBuffered;
    private ITransportHandler _handler = null!;
    private byte[]? _block;
    private ReceiveSpill _spill;
    // Read-side backpressure: the receive loop parks on this source while replies are over the limit; the flush that
    // brings them under it (or an abort) completes it. Reused for every wait, so a wait allocates nothing.
    private ManualResetValueTaskSourceCore<bool> _drained = new() { RunContinuationsAsynchronously = true };
    private int _drainWaiting;
    private int _flushScheduled;
    private int _aborted;
    private int _halfClosed;
    // The receive loop and a running flush each hold one reference; the last one out tears down.
    private int _references = 1;
    private Exception? _error;

    protected DuplexConnection(BlockPool pool, long maxBuffered)
    {
        _pool = pool;
        _maxBuffered = maxBuffered;
    }

    public override void Start(ITransportHandler handler)
    {
        _handler = handler;
        _ = ReceiveLoopAsync();
    }

    public override void RequestFlush()
    {
        if (Interlocked.Exchange(ref _flushScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    public override void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            CloseTransport();
            SignalDrained(); // a receive loop parked for backpressure wakes up and sees the abort
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
        if (_handler.Output.TryBeginSend())
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
        else
        {
            Release();
        }
    }

    protected abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer);

    protected abstract ValueTask SendAsync(ReadOnlyMemory<byte> buffer);

    /// <summary>Half-closes (TCP FIN) after the last byte, so the peer reads everything before it sees the end.</summary>
    protected abstract void ShutdownSend();

    /// <summary>Releases the socket or stream.</summary>
    protected abstract void CloseTransport();

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (Volatile.Read(ref _aborted) == 0)
            {
                // Zero-byte read: wait for data without holding a block (memory per idle or slowloris connection).
                await ReceiveAsync(Memory<byte>.Empty).ConfigureAwait(false);
                byte[] block = _block = _pool.Rent();
                int have = 0;
                if (!_spill.IsEmpty)
                {
                    // Kept bytes go in front of the new ones, so the session sees one contiguous run.
                    _spill.Bytes.CopyTo(block);
                    have = _spill.Bytes.Length;
                    _spill.Release(_pool);
                }
                if (have == block.Length)
                {
                    // Cannot happen for frames (a partial header or control frame is < 140 bytes) and the request
                    // head limit is at most one block; guard anyway.
                    throw new InvalidOperationException("receive block full without progress");
                }
                int received = await ReceiveAsync(block.AsMemory(have)).ConfigureAwait(false);
                if (received == 0)
                {
                    break; // peer closed (FIN)
                }
                have += received;
                if (_handler.IsFinished)
                {
                    ReturnBlock(); // after the close handshake: discard until the peer closes
                    continue;
                }
                OutboundQueue output = _handler.Output;
                output.Cork();
                int consumed;
                try
                {
                    consumed = _handler.OnReceived(block.AsSpan(0, have));
                }
                finally
                {
                    if (output.Uncork() && output.TryBeginSend())
                    {
                        Interlocked.Increment(ref _references);
                        await FlushAsync().ConfigureAwait(false);
                    }
                }
                if (_handler.IsFinished)
                {
                    TryHalfClose();
                }
                else
                {
                    _spill.Keep(block.AsSpan(consumed, have - consumed), _pool);
                }
                ReturnBlock();
                // Read-side backpressure: while replies are over the limit (a flush on another thread still draining
                // them), read nothing more, so TCP slows the peer down. The flush that drains them wakes the loop.
                while (output.BufferedBytes > _maxBuffered && Volatile.Read(ref _aborted) == 0)
                {
                    _drained.Reset();
                    Volatile.Write(ref _drainWaiting, 1);
                    // A flush that drained between the check and the flag did not see the flag: look again.
                    if (output.BufferedBytes <= _maxBuffered || Volatile.Read(ref _aborted) != 0)
                    {
                        if (Interlocked.Exchange(ref _drainWaiting, 0) == 1)
                        {
                            continue; // nobody will complete the source; do not wait on it
                        }
                        // A flush or an abort claimed the flag first and completes the source: wait for it as usual.
                    }
                    await new ValueTask(this, _drained.Version).ConfigureAwait(false);
                }
            }
        }
        catch (Exception exception) when (Volatile.Read(ref _aborted) == 0)
        {
            _error = exception;
        }
        catch
        {
            // Aborted: the failed read is the expected result of closing the transport.
        }
        finally
        {
            ReturnBlock();
            _spill.Release(_pool);
            Abort();
            Release();
        }
    }

    /// <summary>Wakes a receive loop parked for backpressure, once per wait; any thread.</summary>
    private void SignalDrained()
    {
        if (Interlocked.Exchange(ref _drainWaiting, 0) == 1)
        {
            _drained.SetResult(true);
        }
    }

    void IValueTaskSource.GetResult(short token) => _drained.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _drained.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _drained.OnCompleted(continuation, state, token, flags);

    private bool TryAddReference()
    {
        int current = Volatile.Read(ref _references);
        while (current > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }
            current = seen;
        }
        return false;
    }

    /// <summary>Sends everything the queue holds; the caller has claimed the send right and taken a reference.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushAsync()
    {
        OutboundQueue output = _handler.Output;
        try
        {
            do
            {
                while (true)
                {
                    OutboundSegment segment = output.GetInFlight()[0];
                    await SendAsync(segment.Array.AsMemory(segment.Offset, segment.Count)).ConfigureAwait(false);
                    bool done = output.OnSent(segment.Count);
                    if (Volatile.Read(ref _drainWaiting) != 0 && output.BufferedBytes <= _maxBuffered)
                    {
                        SignalDrained();
                    }
                    if (done)
                    {
                        break;
                    }
                }
            }
            while (output.TryContinueSend());
            if (_handler.IsFinished && output.IsCompleted)
            {
                TryHalfClose();
            }
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

    private void TryHalfClose()
    {
        // Only once the close frame (or HTTP response) is on the wire; a flush still running will call again.
        if (_handler.Output.BufferedBytes == 0 && Interlocked.Exchange(ref _halfClosed, 1) == 0)
        {
            try
            {
                ShutdownSend();
            }
            catch (Exception)
            {
                Abort();
            }
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _handler.Output.Dispose();
            _handler.OnTransportClosed(_error);
        }
    }

    private void ReturnBlock()
    {
        if (_block is not null)
        {
            _pool.Return(_block);
            _block = null;
        }
    }
}
