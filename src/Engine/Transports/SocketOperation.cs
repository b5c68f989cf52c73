using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Transports;

/// <summary>
/// One reusable socket read or write whose failure is a value, not a throw. A reset peer is routine under connection
/// churn, and .NET's <c>Socket.ReceiveAsync</c>/<c>SendAsync</c> throw a <see cref="SocketException"/> for it: in the
/// sockets storm, capturing those stack traces took 4-6% of the server's core (bench/results/storm-sockets-inline).
/// Awaiting allocates nothing; one operation at a time; the continuation runs on the completing thread (the socket
/// engine's event thread when completions are inline), as with the socket's own awaitable. Not tied to a socket: a
/// connection rents its operations from the server's pool (<see cref="ConnectionBuffers.SocketOperations"/>) and gives
/// them back once neither runs.
/// </summary>
internal sealed class SocketOperation : SocketAsyncEventArgs, IValueTaskSource<int>
{
    private ManualResetValueTaskSourceCore<int> _source;
    // A zero-byte read's connection, called back instead of completing _source: an idle connection then holds no
    // suspended method waiting on it.
    private DuplexConnection? _waiter;

    // The awaiting code flows its own context; the operation has none to carry.
    public SocketOperation()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>
    /// Reads into <paramref name="buffer"/> (empty: waits for readability): the bytes read, 0 when the peer closed, or
    /// -1 when the read failed (see <see cref="SocketAsyncEventArgs.SocketError"/>).
    /// </summary>
    public ValueTask<int> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        SetBuffer(buffer);
        _source.Reset();
        return socket.ReceiveAsync(this) ? new ValueTask<int>(this, _source.Version) : new ValueTask<int>(Outcome());
    }

    /// <summary>
    /// Waits for readability (a zero-byte read): true when it completed at once, with the outcome in
    /// <paramref name="ready"/> (0, or -1 when the read failed); else false, and <paramref name="waiter"/>'s
    /// <see cref="DuplexConnection.OnReadable"/> is called when it completes, on the completing thread.
    /// </summary>
    public bool WaitReadable(Socket socket, DuplexConnection waiter, out int ready)
    {
        SetBuffer(Memory<byte>.Empty);
        _waiter = waiter; // before the read starts: its completion may run at once, on another thread
        if (socket.ReceiveAsync(this))
        {
            ready = 0;
            return false; // nothing here may touch the operation now: the completion owns it
        }
        _waiter = null;
        ready = Outcome();
        return true;
    }

    /// <summary>Whether a zero-byte read is pending with a connection to call back (what an idle connection waits in).</summary>
    internal bool HasWaiter => Volatile.Read(ref _waiter) is not null;

    /// <summary>Writes some of <paramref name="buffer"/>: the bytes written, or -1 when the write failed (see <see cref="SocketAsyncEventArgs.SocketError"/>).</summary>
    public ValueTask<int> SendAsync(Socket socket, ReadOnlyMemory<byte> buffer)
    {
        // The socket only reads the buffer; SocketAsyncEventArgs takes writable memory for both directions.
        SetBuffer(MemoryMarshal.AsMemory(buffer));
        _source.Reset();
        return socket.SendAsync(this) ? new ValueTask<int>(this, _source.Version) : new ValueTask<int>(Outcome());
    }

    /// <summary>
    /// A pool that keeps up to <paramref name="maxRetained"/> idle operations (1,024: a burst of closes refills it for
    /// the next burst of connects) and disposes the ones it does not keep, so none is left to the finalizer.
    /// </summary>
    public static ObjectPool<SocketOperation> CreatePool(int maxRetained = 1024) =>
        new DefaultObjectPoolProvider { MaximumRetained = maxRetained }.Create(new Policy());

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        DuplexConnection? waiter = _waiter;
        if (waiter is not null)
        {
            _waiter = null;
            waiter.OnReadable(Outcome());
            return;
        }
        _source.SetResult(Outcome());
    }

    int IValueTaskSource<int>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _source.OnCompleted(continuation, state, token, flags);

    private int Outcome() => SocketError == SocketError.Success ? BytesTransferred : -1;

    private sealed class Policy : PooledObjectPolicy<SocketOperation>
    {
        public override SocketOperation Create() => new();

        public override bool Return(SocketOperation operation)
        {
            operation.SetBuffer(Memory<byte>.Empty); // holds no pooled block while idle
            operation._waiter = null;
            return true;
        }
    }
}
