using System.Net;

namespace Engine.Transports;

/// <summary>A <see cref="DuplexConnection"/> over a <see cref="Stream"/> handed in by an embedder (for example TLS).</summary>
internal sealed class StreamConnection : DuplexConnection
{
    private readonly Stream _stream;

    public StreamConnection(Stream stream, EndPoint? remoteEndPoint, ConnectionBuffers buffers)
        : base(buffers)
    {
        _stream = stream;
        RemoteEndPoint = remoteEndPoint;
    }

    public override EndPoint? RemoteEndPoint { get; }

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _stream.ReadAsync(buffer);

    protected override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer)
    {
        await _stream.WriteAsync(buffer).ConfigureAwait(false);
        await _stream.FlushAsync().ConfigureAwait(false);
    }

    // A stream has no half-close; the close frame is flushed, and the peer or the close timeout ends the connection.
    protected override void ShutdownSend()
    {
    }

    protected override void CloseTransport() => _stream.Dispose();
}
