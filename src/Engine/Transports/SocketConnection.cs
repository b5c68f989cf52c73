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

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _socket.ReceiveAsync(buffer, SocketFlags.None);

    protected override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer)
    {
        // Socket.SendAsync on a stream socket completes only when every byte is sent.
        await _socket.SendAsync(buffer, SocketFlags.None).ConfigureAwait(false);
    }

    protected override void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    protected override void CloseTransport() => _socket.Dispose();
}
