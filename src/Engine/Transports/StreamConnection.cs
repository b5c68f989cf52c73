using System.Net;

namespace Engine.Transports;

/// <summary>
/// A <see cref="DuplexConnection"/> over a <see cref="Stream"/> handed in by an embedder (for example TLS), or over the
/// upgraded stream of a request another HTTP server answered (a hand-off: <see cref="WebSocketServer.BeginUpgrade"/>).
/// </summary>
internal sealed class StreamConnection : DuplexConnection
{
    private readonly Stream _stream;
    // Hand-offs only: completed when the stream is released, so the other server can end its request (which is what
    // closes the TCP connection or the HTTP/2 stream). Null for streams taken over with Accept(Stream).
    private readonly TaskCompletionSource? _released;
    private StreamReadableWait? _readable; // made at the first wait that does not complete at once

    public StreamConnection(Stream stream, EndPoint? remoteEndPoint, ConnectionBuffers buffers, bool handedOver = false)
        : base(buffers)
    {
        _stream = stream;
        RemoteEndPoint = remoteEndPoint;
        _released = handedOver ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;
    }

    public override EndPoint? RemoteEndPoint { get; }

    /// <summary>Completes once the stream is released (hand-offs); completed at once for other streams.</summary>
    public Task Released => _released?.Task ?? Task.CompletedTask;

    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _stream.ReadAsync(buffer);

    protected override bool WaitReadable(out int ready) => (_readable ??= new(this)).Begin(ReceiveAsync(Memory<byte>.Empty), out ready);

    // A stream writes the whole buffer and throws when it fails.
    protected override async ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer)
    {
        await _stream.WriteAsync(buffer).ConfigureAwait(false);
        await _stream.FlushAsync().ConfigureAwait(false);
        return buffer.Length;
    }

    // A stream has no half-close; the close frame is flushed, and the peer or the close timeout ends the connection.
    // A handed-over stream ends here instead: releasing it ends the other server's request, which closes the TCP
    // connection (HTTP/1.1) or the stream (HTTP/2) from our side first, as RFC 6455 §7.1.1 asks of a server. Its read
    // would not return before that, so waiting for the peer would wait for the close timeout.
    protected override void ShutdownSend()
    {
        if (_released is not null)
        {
            Abort();
        }
    }

    protected override void CloseTransport()
    {
        try
        {
            _stream.Dispose();
        }
        finally
        {
            _released?.TrySetResult();
        }
    }
}
