using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Transports;

/// <summary>A <see cref="DuplexConnection"/> on .NET's async socket operations (epoll on Linux, IOCP on Windows).</summary>
internal sealed class SocketConnection : DuplexConnection
{
    private readonly Socket _socket;

    public SocketConnection(Socket socket, ConnectionBuffers buffers)
        : base(buffers)
    {
        _socket = socket;
        _receive = buffers.SocketOperations.Get();
        // Frames are written whole and batched by the send queue; Nagle would only add latency.
        _socket.NoDelay = true;
        RemoteEndPoint = socket.RemoteEndPoint;
    }

    public override EndPoint? RemoteEndPoint { get; }

    // Non-throwing reads and writes: a reset peer is a value here (see SocketOperation), from the server's pool. The read's
    // is held for the connection's life (an idle connection waits in a zero-byte read); a write's only for its send, so
    // an idle connection holds one operation, not two (336 B less with the operation's callback).
    private readonly SocketOperation _receive;
    private SocketError _sendError;

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _receive.ReceiveAsync(_socket, buffer);

    protected override bool WaitReadable(out int ready) => _receive.WaitReadable(_socket, this, out ready);

    // One send at a time (the queue's send right), so _sendError has one writer. Most sends complete at once: no box then.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    protected override async ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer)
    {
        ObjectPool<SocketOperation> operations = Output.Buffers.SocketOperations;
        SocketOperation send = operations.Get();
        try
        {
            int sent = await send.SendAsync(_socket, buffer).ConfigureAwait(false);
            if (sent < 0)
            {
                _sendError = send.SocketError;
            }
            return sent;
        }
        finally
        {
            operations.Return(send);
        }
    }

    protected override Exception DescribeFailure(bool receiving) => new SocketException((int)(receiving ? _receive.SocketError : _sendError));

    protected override void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    protected override void CloseTransport() => _socket.Dispose();

    // The receive side has ended: its operation runs no more.
    protected override void OnReleased() => Output.Buffers.SocketOperations.Return(_receive);
}
