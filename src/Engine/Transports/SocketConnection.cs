using System.Net;
using System.Net.Sockets;

namespace Engine.Transports;

/// <summary>A <see cref="DuplexConnection"/> on .NET's async socket operations (epoll on Linux, IOCP on Windows).</summary>
internal sealed class SocketConnection : DuplexConnection
{
    private readonly Socket _socket;

    public SocketConnection(Socket socket, ConnectionBuffers buffers)
        : base(buffers)
    {
        _socket = socket;
        // Frames are written whole and batched by the send queue; Nagle would only add latency.
        _socket.NoDelay = true;
        RemoteEndPoint = socket.RemoteEndPoint;
    }

    public override EndPoint? RemoteEndPoint { get; }

    // Non-throwing reads and writes: a reset peer is a value here (see SocketOperation). The write's operation is made
    // at the first send.
    private readonly SocketOperation _receive = new();
    private SocketOperation? _send;

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _receive.ReceiveAsync(_socket, buffer);

    // One send at a time (the queue's send right), so the operation is never shared.
    protected override ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer) => (_send ??= new SocketOperation()).SendAsync(_socket, buffer);

    protected override Exception DescribeFailure(bool receiving) => new SocketException((int)(receiving ? _receive : _send!).SocketError);

    protected override void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    protected override void CloseTransport()
    {
        _socket.Dispose();
        // Dispose frees an operation's native state once it is no longer running (the socket's close ends it), and
        // spares the finalizer the work.
        _receive.Dispose();
        _send?.Dispose();
    }
}
