using System.Net;
using System.Net.Sockets;
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

    // Non-throwing reads and writes: a reset peer is a value here (see SocketOperation). Rented from the server's pool;
    // the write's at the first send.
    private readonly SocketOperation _receive;
    private SocketOperation? _send;

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _receive.ReceiveAsync(_socket, buffer);

    // One send at a time (the queue's send right), so the operation is never shared.
    protected override ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer) => (_send ??= Output.Buffers.SocketOperations.Get()).SendAsync(_socket, buffer);

    protected override Exception DescribeFailure(bool receiving) => new SocketException((int)(receiving ? _receive : _send!).SocketError);

    protected override void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    protected override void CloseTransport() => _socket.Dispose();

    // Neither operation runs any more: the receive loop and every flush have ended.
    protected override void OnReleased()
    {
        ObjectPool<SocketOperation> operations = Output.Buffers.SocketOperations;
        operations.Return(_receive);
        if (_send is not null)
        {
            operations.Return(_send);
        }
    }
}
