using System.Runtime.CompilerServices;
using Engine.Buffers;
using Engine.Session;

namespace Engine.Transports;

/// <summary>
/// One connection's I/O: a receive loop and a send path over an async byte transport (a socket or a stream).
/// Moves bytes and knows nothing of frames. An idle connection holds no buffer: it waits for readability with a
/// zero-byte read and rents a block only when data is there. Sends are batched: everything queued during a receive
/// batch leaves in one flush; sends from other threads are gathered by one thread-pool work item per connection.
/// </summary>
internal abstract class DuplexConnection : TransportConnection, IThreadPoolWorkItem
{
    private byte[]? _block;
    private int _start;
    private int _end;
    private int _flushScheduled;
    private int _aborted;
    // The receive loop and a running flush each hold one reference; the last one out tears down.
    private int _references = 1;
    private Exception? _error;

    protected DuplexConnection(ConnectionBuffers buffers)
        : base(buffers)
    {
    }

    public override void Start(ITransportHandler handler)
    {
        base.Start(handler);
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

    /// <summary>Releases the socket or stream.</summary>
    protected abstract void CloseTransport();

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (Volatile.Read(ref _aborted) == 0)
            {
                int received;
                if (_end == _start)
                {
                    ReturnBlock();
                    // Zero-byte read: wait for data without holding a buffer (memory per idle connection).
                    await ReceiveAsync(Memory<byte>.Empty).ConfigureAwait(false);
                    _block = Pool.Rent();
                    received = await ReceiveAsync(_block).ConfigureAwait(false);
                }
                else
                {
                    // A partial frame or request head is kept; compact it to the front and read behind it.
                    if (_start > 0)
                    {
                        _block.AsSpan(_start, _end - _start).CopyTo(_block);
                        _end -= _start;
                        _start = 0;
                    }
                    if (_end == _block!.Length)
                    {
                        // Cannot happen for frames (a partial header or control frame is < 140 bytes) and the
                        // request head limit is at most one block; guard anyway.
                        throw new InvalidOperationException("receive block full without progress");
                    }
                    received = await ReceiveAsync(_block.AsMemory(_end)).ConfigureAwait(false);
                }
                if (received == 0)
                {
                    break; // peer closed (FIN)
                }
                _end += received;
                ReceiveOutcome outcome = Deliver(_block.AsSpan(_start, _end - _start), out int consumed);
                if ((outcome & (ReceiveOutcome.FlushNeeded | ReceiveOutcome.Finished)) != 0 && Output.TryBeginSend())
                {
                    Interlocked.Increment(ref _references);
                    await FlushAsync().ConfigureAwait(false);
                }
                _start += consumed;
                if ((outcome & ReceiveOutcome.Finished) != 0)
                {
                    TryHalfClose(); // after the close handshake: what the peer still sends is discarded until it closes
                }
                // Read-side backpressure: while replies are over the limit (a flush on another thread still
                // draining them), read nothing more, so TCP slows the peer down. Rare, so a short poll is enough.
                while (Output.BufferedBytes > MaxBuffered && Volatile.Read(ref _aborted) == 0)
                {
                    await Task.Delay(1).ConfigureAwait(false);
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
            Abort();
            Release();
        }
    }

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
        SendQueue output = Output;
        try
        {
            do
            {
                while (true)
                {
                    SendSegment segment = output.GetInFlight()[0];
                    await SendAsync(segment.Array.AsMemory(segment.Offset, segment.Count)).ConfigureAwait(false);
                    if (output.OnSent(segment.Count))
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

    private void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Output.Dispose();
            Handler.OnTransportClosed(_error);
        }
    }

    private void ReturnBlock()
    {
        if (_block is not null)
        {
            Pool.Return(_block);
            _block = null;
            _start = _end = 0;
        }
    }
}
