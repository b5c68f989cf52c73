using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Engine.Transports;

/// <summary>
/// A <see cref="DuplexConnection"/> that terminates TLS: an <see cref="SslStream"/> over the accepted socket. The TLS
/// handshake runs inside the first receive, after the session has started, so the session's handshake timeout (a timer
/// wheel entry) covers it: a client that never sends a ClientHello is aborted like any other slow handshake. A client
/// speaking plain HTTP to the TLS port gets a plain-text 400 and a clean close rather than a reset.
/// </summary>
/// <remarks>
/// Idle memory: the receive loop waits with zero-byte reads, which <see cref="SslStream"/> passes down to the socket
/// while it holds no decrypted data (it rents its internal buffer only while bytes are in it), so an idle TLS connection
/// holds no receive buffer; what remains is the TLS session state itself (OpenSSL's SSL object on Linux).
/// </remarks>
internal sealed class TlsConnection : DuplexConnection
{
    // TLS records start with a content type byte; a handshake record (ClientHello) is 22.
    private const byte HandshakeRecord = 22;

    private static ReadOnlySpan<byte> PlainHttpResponse =>
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 39\r\n\r\nThis port speaks TLS: use https or wss.\n"u8;

    private readonly Socket _socket;
    private readonly SslStream _ssl;
    private readonly SslServerAuthenticationOptions _options;
    private bool _authenticated;
    private bool _refused;
    private StreamReadableWait? _readable; // made at the first wait that does not complete at once

    public TlsConnection(Socket socket, SslServerAuthenticationOptions options, ConnectionBuffers buffers)
        : base(buffers)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _options = options;
        RemoteEndPoint = socket.RemoteEndPoint;
        _ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
    }

    public override EndPoint? RemoteEndPoint { get; }

    // The loop's first call is a zero-byte read, for which 0 is the normal answer, so a refused handshake answers 0 to
    // every call: the read after it ends the loop.
    protected override ValueTask<int> ReceiveAsync(Memory<byte> buffer) =>
        _authenticated ? _ssl.ReadAsync(buffer) : _refused ? new(0) : AuthenticateThenReceiveAsync(buffer);

    protected override bool WaitReadable(out int ready) => (_readable ??= new(this)).Begin(ReceiveAsync(Memory<byte>.Empty), out ready);

    protected override async ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer)
    {
        // Nothing is queued before the TLS handshake completes except through a timeout or shutdown, which abort anyway.
        if (!Volatile.Read(ref _authenticated))
        {
            throw new InvalidOperationException("TLS handshake not complete");
        }
        // SslStream.WriteAsync encrypts into records and writes them to the socket; there is nothing left to flush.
        await _ssl.WriteAsync(buffer).ConfigureAwait(false);
        return buffer.Length;
    }

    /// <summary>
    /// After the close frame: a TLS close_notify, then the TCP FIN, so the client sees the end of the stream at once
    /// (RFC 6455 §7.1.1: the server closes the TCP connection first) instead of waiting for its own timeout.
    /// </summary>
    protected override void ShutdownSend() => _ = HalfCloseAsync();

    private async Task HalfCloseAsync()
    {
        try
        {
            await _ssl.ShutdownAsync().ConfigureAwait(false);
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            Abort(); // the peer is gone already; nothing left to say
        }
    }

    protected override void CloseTransport() => _ssl.Dispose();

    /// <summary>The TLS handshake, then the receive the loop asked for; 0 (a clean end) when the client is not speaking TLS.</summary>
    private async ValueTask<int> AuthenticateThenReceiveAsync(Memory<byte> buffer)
    {
        _refused = true; // until the handshake succeeds
        // Wait for the first bytes without a buffer, then look at them without consuming: a ClientHello starts with 22;
        // an ASCII letter is an HTTP request on the wrong port, which gets an answer it can show the user.
        await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
        byte[] first = new byte[1];
        int peeked = await _socket.ReceiveAsync(first, SocketFlags.Peek).ConfigureAwait(false);
        if (peeked == 0)
        {
            return 0;
        }
        if (first[0] != HandshakeRecord)
        {
            if (first[0] is >= (byte)'A' and <= (byte)'Z')
            {
                await AnswerPlainHttpAsync().ConfigureAwait(false);
            }
            return 0;
        }
        try
        {
            await _ssl.AuthenticateAsServerAsync(_options, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is System.Security.Authentication.AuthenticationException or IOException)
        {
            // A failed negotiation (no common protocol or cipher, a bad record, the peer leaving) ends this connection
            // only; the client's TLS stack has already been told by an alert where one applies.
            return 0;
        }
        _refused = false;
        Volatile.Write(ref _authenticated, true);
        return await _ssl.ReadAsync(buffer).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers an HTTP request sent in clear text with a 400 and closes cleanly: the request is read first (closing a
    /// socket with unread input makes the kernel send a reset, which can destroy the answer before the client reads it),
    /// then our side is half-closed and we read until the client closes. The handshake timeout bounds all of it.
    /// </summary>
    private async Task AnswerPlainHttpAsync()
    {
        byte[] scratch = new byte[512];
        await _socket.ReceiveAsync(scratch, SocketFlags.None).ConfigureAwait(false);
        await _socket.SendAsync(PlainHttpResponse.ToArray(), SocketFlags.None).ConfigureAwait(false);
        _socket.Shutdown(SocketShutdown.Send);
        while (await _socket.ReceiveAsync(scratch, SocketFlags.None).ConfigureAwait(false) > 0)
        {
        }
    }
}
