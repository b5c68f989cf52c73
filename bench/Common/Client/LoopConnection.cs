using System.Net.Sockets;

namespace Bench.Client;

/// <summary>
/// One socket owned by one <see cref="EventLoop"/>; only that loop's thread touches it.
/// Outgoing bytes are appended to <see cref="Out"/> (the cork) and flushed with one send per batch: a non-blocking
/// send on epoll, or a send the io_uring loop submits with everything else at the end of its turn. The cork lives on
/// the pinned heap so the kernel can read it after the call that queued the send has returned.
/// </summary>
internal abstract class LoopConnection(Socket socket, int outCapacity)
{
    private int outStart;
    private int outEnd;
    private bool writable = true;
    private EventLoop? uring;
    private int slot;
    private bool sendInKernel;
    private byte[]? sendArray; // the array the kernel is reading, kept alive while the cork grows

    public Socket Socket { get; } = socket;
    public bool Closed { get; protected set; }
    public string? Error { get; protected set; }

    /// <summary>The cork: frames waiting to be sent, from <c>outStart</c> to <c>outEnd</c>.</summary>
    protected byte[] Out { get; private set; } = GC.AllocateUninitializedArray<byte>(outCapacity, pinned: true);

    protected int OutFree => Out.Length - outEnd;

    /// <summary>Reserves <paramref name="size"/> bytes at the end of the cork, compacting or growing it first if needed.</summary>
    protected Span<byte> Reserve(int size)
    {
        if (Out.Length - outEnd < size)
        {
            var pending = outEnd - outStart;
            if (outStart > 0 && Out.Length - pending >= size && !sendInKernel)
            {
                Out.AsSpan(outStart, pending).CopyTo(Out);
            }
            else
            {
                // While the kernel reads the old array (an io_uring send in flight), the bytes move to a new one and
                // the send's completion counts from the same start.
                var grown = GC.AllocateUninitializedArray<byte>(Math.Max(Out.Length * 2, pending + size), pinned: true);
                Out.AsSpan(outStart, pending).CopyTo(grown);
                Out = grown;
            }
            outStart = 0;
            outEnd = pending;
        }
        return Out.AsSpan(outEnd, size);
    }

    protected void Commit(int size) => outEnd += size;

    protected int PendingOut => outEnd - outStart;

    /// <summary>Sends what the cork holds until the kernel would block; the loop calls <see cref="OnWritable"/> when it can go on.</summary>
    public void Flush()
    {
        if (uring is not null)
        {
            if (!sendInKernel && outEnd > outStart && !Closed)
            {
                sendInKernel = true;
                sendArray = Out;
                uring.SubmitSend(slot, sendArray, outStart, outEnd - outStart);
            }
            return;
        }
        while (writable && outEnd > outStart && !Closed)
        {
            var n = Socket.Send(Out, outStart, outEnd - outStart, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                writable = false;
                return;
            }
            if (error != SocketError.Success)
            {
                Fail("send: " + error);
                return;
            }
            outStart += n;
        }
        if (outStart == outEnd)
        {
            outStart = outEnd = 0;
        }
    }

    public void OnWritable()
    {
        writable = true;
        Flush();
    }

    /// <summary>Reads until the socket is drained, feeding the bytes to <see cref="OnData"/>; a short read means drained (edge-triggered).</summary>
    public void OnReadable(byte[] buffer, long now)
    {
        while (!Closed)
        {
            var n = Socket.Receive(buffer, 0, buffer.Length, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                break;
            }
            if (error != SocketError.Success)
            {
                Fail("receive: " + error);
                break;
            }
            if (n == 0)
            {
                Fail("server closed the connection");
                break;
            }
            OnData(buffer.AsSpan(0, n), now);
            if (n < buffer.Length)
            {
                break;
            }
        }
        Flush();
    }

    /// <summary>The connection runs on an io_uring <see cref="EventLoop"/> under <paramref name="loopSlot"/>.</summary>
    public void AttachUring(EventLoop loop, int loopSlot)
    {
        uring = loop;
        slot = loopSlot;
    }

    /// <summary>io_uring: bytes arrived.</summary>
    public void OnReceived(ReadOnlySpan<byte> data, long now)
    {
        OnData(data, now);
        Flush();
    }

    /// <summary>io_uring: the send wrote <paramref name="result"/> bytes (or -errno).</summary>
    public void OnSendCompleted(int result)
    {
        sendInKernel = false;
        sendArray = null;
        if (result < 0)
        {
            Fail("send: errno " + (-result));
            return;
        }
        outStart += result;
        if (outStart == outEnd)
        {
            outStart = outEnd = 0;
        }
        Flush();
    }

    /// <summary>io_uring: the receive failed or the server closed the connection.</summary>
    public void OnReceiveFailed(int result) => Fail(result == 0 ? "server closed the connection" : "receive: errno " + (-result));

    /// <summary>Bytes arrived; valid only during the call.</summary>
    public abstract void OnData(ReadOnlySpan<byte> data, long now);

    /// <summary>Called by the loop on every turn, before waiting; returns the timestamp when it next wants a turn (long.MaxValue for never).</summary>
    public virtual long OnTick(long now) => long.MaxValue;

    protected void Fail(string reason)
    {
        if (!Closed)
        {
            Closed = true;
            Error = reason;
        }
    }
}
