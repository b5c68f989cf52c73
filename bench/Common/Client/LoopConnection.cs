using System.Net.Sockets;

namespace Bench.Client;

/// <summary>
/// One non-blocking socket owned by one <see cref="EventLoop"/>; only that loop's thread touches it.
/// Outgoing bytes are appended to <see cref="Out"/> (the cork) and flushed with one send per batch.
/// </summary>
internal abstract class LoopConnection(Socket socket, int outCapacity)
{
    private int outStart;
    private int outEnd;
    private bool writable = true;

    public Socket Socket { get; } = socket;
    public bool Closed { get; protected set; }
    public string? Error { get; protected set; }

    /// <summary>The cork: frames waiting to be sent, from <c>outStart</c> to <c>outEnd</c>.</summary>
    protected byte[] Out { get; private set; } = new byte[outCapacity];

    protected int OutFree => Out.Length - outEnd;

    /// <summary>Reserves <paramref name="size"/> bytes at the end of the cork, compacting or growing it first if needed.</summary>
    protected Span<byte> Reserve(int size)
    {
        if (Out.Length - outEnd < size)
        {
            var pending = outEnd - outStart;
            if (outStart > 0 && Out.Length - pending >= size)
            {
                Out.AsSpan(outStart, pending).CopyTo(Out);
            }
            else
            {
                var grown = new byte[Math.Max(Out.Length * 2, pending + size)];
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
