using System.Runtime.CompilerServices;
using Engine.Session;

namespace Engine.Transports;

/// <summary>
/// One connection's I/O: a receive loop and a send path over an async byte transport (a socket or a stream).
/// Moves bytes and knows nothing of frames. A waiting connection holds no block: it waits for readability with a
/// zero-byte read, rents a block only for the read itself, and returns it before waiting again; bytes it could not
/// consume yet (a half-received request head, a partial frame header) wait in a small <see cref="ReceiveSpill"/>, as on
/// the Linux loops. The wait itself is a callback (<see cref="WaitReadable"/>), not a suspended method, so an idle
/// connection holds its pending read and nothing for the code that resumes after it. Sends are batched: everything
/// queued during a receive batch leaves in one flush; sends from other threads are gathered by one thread-pool work
/// item per connection.
/// </summary>
internal abstract partial class DuplexConnection : TransportConnection, IThreadPoolWorkItem
{
    // ReceiveUntilIdleAsync's start without a completed zero-byte read (any result of one is >= -1).
    private const int NotWaited = int.MinValue;

    private byte[]? _block;
    private byte[]? _kept; // see ReceiveSpill
    // Read-side backpressure: the receive loop parks on this signal while replies are over the limit; the flush that
    // brings them under it (or an abort) sets it. Made at the first wait (most connections never wait: memory per idle
    // connection), then reused, so a wait allocates nothing.
    private DrainSignal? _drain;
    private int _flushScheduled;
    private int _aborted;
    // The receive side and a running flush each hold one reference; the last one out tears down.
    private int _references = 1;
    private Exception? _error;
    private byte _halfClosed;

    protected DuplexConnection(ConnectionBuffers buffers)
        : base(buffers)
    {
    }

    protected sealed override bool MarkHalfClosed() => Interlocked.Exchange(ref _halfClosed, (byte)1) == 0;

    /// <summary>Whether the descriptor was taken from the server's budget (the accept loop's), to be given back at the close.</summary>
    public bool CountsDescriptor { get; init; }

    public override void Start(ITransportHandler handler)
    {
        base.Start(handler);
        _ = ReceiveUntilIdleAsync(NotWaited);
    }

    /// <summary>
    /// Starts a connection whose handshake is already done (a hand-off): <paramref name="opened"/> runs once the
    /// transport can send and before the first read, so the handler's OnOpen precedes every OnMessage and may send.
    /// </summary>
    public void Start(ITransportHandler handler, Action opened)
    {
        base.Start(handler);
        opened();
        _ = ReceiveUntilIdleAsync(NotWaited);
    }

    public override void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            CloseTransport();
            if (CountsDescriptor)
            {
                Output.Buffers.Descriptors.Return();
            }
            Volatile.Read(ref _drain)?.Set(); // a receive loop parked for backpressure wakes up and sees the abort
        }
    }

    /// <summary>
    /// Reads into <paramref name="buffer"/> (empty: waits for data without taking it): the bytes read, 0 when the peer
    /// closed, or -1 when the transport failed (<see cref="DescribeFailure"/> says why). A transport may also throw.
    /// </summary>
    protected abstract ValueTask<int> ReceiveAsync(Memory<byte> buffer);

    /// <summary>
    /// Starts a zero-byte read: waits for data without taking it. True when it completed at once, with its result in
    /// <paramref name="ready"/> (as <see cref="ReceiveAsync"/>'s); false when it is pending, and then the transport
    /// calls <see cref="OnReadable"/> once it completes, on the completing thread.
    /// </summary>
    protected abstract bool WaitReadable(out int ready);

    /// <summary>
    /// A pending <see cref="WaitReadable"/> completed: <paramref name="ready"/> as <see cref="ReceiveAsync"/>'s result,
    /// or <paramref name="error"/> when the read threw. Receives until the connection is idle again.
    /// </summary>
    internal void OnReadable(int ready, Exception? error = null)
    {
        if (error is not null)
        {
            KeepError(error);
            EndReceiving();
        }
        else
        {
            _ = ReceiveUntilIdleAsync(ready); // observes its own errors
        }
    }

    /// <summary>Why the last read (or write) that returned -1 failed.</summary>
    protected virtual Exception DescribeFailure(bool receiving) => new IOException(receiving ? "the transport's read failed" : "the transport's write failed");

    /// <summary>Releases the socket or stream.</summary>
    protected abstract void CloseTransport();

    /// <summary>The connection is gone: no read or write runs or will run (the last reference was released).</summary>
    protected virtual void OnReleased()
    {
    }

    /// <summary>
    /// Receives while data is there. Returns (completed) once a zero-byte read is pending: its completion starts this
    /// again through <see cref="OnReadable"/>, so an idle connection holds no suspended method. Allocates only when a step
    /// waits (a read, a flush or backpressure), for the time it waits. <paramref name="ready"/>: the result of a
    /// zero-byte read that completed, or <see cref="NotWaited"/> to start with one.
    /// </summary>
    private async Task ReceiveUntilIdleAsync(int ready)
    {
        try
        {
            while (true)
            {
                if (ready == NotWaited)
                {
                    if (Volatile.Read(ref _aborted) != 0)
                    {
                        break;
                    }
                    // Zero-byte read: wait for data without holding a block (memory per idle or slowloris connection).
                    if (!WaitReadable(out ready))
                    {
                        return;
                    }
                }
                if (ready < 0)
                {
                    RecordFailure(receiving: true);
                    break;
                }
                ready = NotWaited;
                byte[] block = _block = Pool.Rent();
                int have = 0;
                if (_kept is not null)
                {
                    // Kept bytes go in front of the new ones, so the session sees one contiguous run.
                    ReadOnlySpan<byte> kept = ReceiveSpill.Bytes(_kept);
                    kept.CopyTo(block);
                    have = kept.Length;
                    ReceiveSpill.Release(ref _kept, Pool);
                }
                if (have == block.Length)
                {
                    // Cannot happen for frames (a partial header or control frame is < 140 bytes) and the request
                    // head limit is at most one block; guard anyway.
                    throw new InvalidOperationException("receive block full without progress");
                }
                int received = await ReceiveAsync(block.AsMemory(have)).ConfigureAwait(false);
                if (received <= 0)
                {
                    if (received < 0)
                    {
                        RecordFailure(receiving: true);
                    }
                    break; // 0: the peer closed (FIN)
                }
                have += received;
                ReceiveOutcome outcome = Deliver(block.AsSpan(0, have), out int consumed);
                if ((outcome & (ReceiveOutcome.FlushNeeded | ReceiveOutcome.Finished)) != 0 && Output.TryBeginSend())
                {
                    Interlocked.Increment(ref _references);
                    StartFlush();
                }
                if ((outcome & ReceiveOutcome.Finished) != 0)
                {
                    TryHalfClose(); // after the close handshake: what the peer still sends is discarded until it closes
                }
                ReceiveSpill.Keep(ref _kept, block.AsSpan(consumed, have - consumed), Pool);
                ReturnBlock();
                // Read-side backpressure: while replies are over the limit (a flush on another thread still draining
                // them), read nothing more, so TCP slows the peer down. The flush that drains them wakes the loop.
                SendQueue output = Output;
                while (output.BufferedBytes > MaxBuffered && Volatile.Read(ref _aborted) == 0)
                {
                    DrainSignal drain = _drain ?? Interlocked.CompareExchange(ref _drain, new DrainSignal(), null) ?? _drain;
                    ValueTask wait = drain.Arm();
                    // A flush that drained between the check and the arming did not see it: look again.
                    if ((output.BufferedBytes <= MaxBuffered || Volatile.Read(ref _aborted) != 0) && drain.Disarm())
                    {
                        continue; // nobody will set the signal; do not wait on it
                    }
                    // Otherwise a flush or an abort set it, or will: wait for it.
                    await wait.ConfigureAwait(false);
                }
            }
        }
        catch (Exception exception)
        {
            KeepError(exception);
        }
        EndReceiving(); // not reached when a zero-byte read is pending (the return above)
    }

    /// <summary>Keeps why the receive side failed; nothing after an abort, whose failed read is the expected result of closing the transport.</summary>
    private void KeepError(Exception exception)
    {
        if (Volatile.Read(ref _aborted) == 0)
        {
            _error = exception;
        }
    }

    /// <summary>The receive side is done: gives back what it holds, closes the transport and drops its reference.</summary>
    private void EndReceiving()
    {
        ReturnBlock();
        ReceiveSpill.Release(ref _kept, Pool);
        Abort();
        Release();
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

    /// <summary>Keeps the first reason the transport failed; none after an abort, whose failed transfers are the expected result of closing it.</summary>
    private void RecordFailure(bool receiving)
    {
        if (Volatile.Read(ref _aborted) == 0)
        {
            Interlocked.CompareExchange(ref _error, DescribeFailure(receiving), null);
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Output.Dispose();
            OnReleased();
            Handler.OnTransportClosed(_error);
        }
    }

    private void ReturnBlock()
    {
        if (_block is not null)
        {
            Pool.Return(_block);
            _block = null;
        }
    }
}
