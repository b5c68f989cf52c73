using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Engine.Client;

/// <summary>
/// An RFC 6455 client connection over a raw socket (ws:// only): opening handshake with Sec-WebSocket-Accept and
/// subprotocol validation, masked frames, fragment reassembly, automatic pong replies. One reader at a time
/// (<see cref="ReceiveAsync"/>); sends are thread-safe.
/// </summary>
public sealed class WebSocketClientConnection : IAsyncDisposable
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;
    private bool _closeSent;

    private WebSocketClientConnection(Socket socket, string? subprotocol)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Subprotocol = subprotocol;
    }

    /// <summary>The subprotocol the server selected, or null.</summary>
    public string? Subprotocol { get; private set; }

    /// <summary>The largest message <see cref="ReceiveAsync"/> assembles before failing (bytes).</summary>
    public int MaxMessageSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// Connects and performs the opening handshake (RFC 6455 §4.1). Throws <see cref="WebSocketHandshakeException"/>
    /// when the server's answer is not a valid 101.
    /// </summary>
    public static async Task<WebSocketClientConnection> ConnectAsync(Uri uri, IReadOnlyList<string>? subprotocols = null, CancellationToken cancellationToken = default)
    {
        if (uri.Scheme != "ws")
        {
            throw new ArgumentException("only ws:// URIs are supported (terminate TLS in front of the Host)", nameof(uri));
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(uri.DnsSafeHost, uri.Port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var connection = new WebSocketClientConnection(socket, null);
        try
        {
            await connection.HandshakeAsync(uri, subprotocols ?? [], cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The Sec-WebSocket-Accept value for a key (RFC 6455 §4.2.2 step 5.4).</summary>
    public static string ComputeAccept(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));

    private async Task HandshakeAsync(Uri uri, IReadOnlyList<string> subprotocols, CancellationToken cancellationToken)
    {
        // RFC 6455 §4.1: the nonce is 16 random bytes, base64-encoded.
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        StringBuilder request = new StringBuilder()
            .Append("GET ").Append(uri.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(uri.Authority).Append("\r\n")
            .Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
            .Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n");
        if (subprotocols.Count > 0)
        {
            request.Append("Sec-WebSocket-Protocol: ").Append(string.Join(", ", subprotocols)).Append("\r\n");
        }
        request.Append("\r\n");
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);

        int headEnd;
        while ((headEnd = _buffer.AsSpan(0, _end).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (_end == _buffer.Length)
            {
                throw new WebSocketHandshakeException("response head larger than 16 KiB");
            }
            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new WebSocketHandshakeException("connection closed during the handshake");
            }
            _end += read;
        }
        string head = Encoding.Latin1.GetString(_buffer, 0, headEnd);
        _start = headEnd + 4; // frames the server sent right behind the 101 stay in the buffer
        string[] lines = head.Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        if (status.Length < 2 || status[1] != "101")
        {
            throw new WebSocketHandshakeException($"server answered '{lines[0]}' instead of 101");
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.AsSpan(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                string name = line[..colon].Trim();
                string value = line[(colon + 1)..].Trim();
                headers[name] = headers.TryGetValue(name, out string? previous) ? previous + ", " + value : value;
            }
        }
        // RFC 6455 §4.1, client requirements for the server's handshake, points 2-6.
        if (!headers.TryGetValue("Upgrade", out string? upgrade) || !upgrade.Equals("websocket", StringComparison.OrdinalIgnoreCase))
        {
            throw new WebSocketHandshakeException("missing or wrong Upgrade header");
        }
        if (!headers.TryGetValue("Connection", out string? connection) ||
            !connection.Split(',').Any(token => token.Trim().Equals("Upgrade", StringComparison.OrdinalIgnoreCase)))
        {
            throw new WebSocketHandshakeException("missing or wrong Connection header");
        }
        if (!headers.TryGetValue("Sec-WebSocket-Accept", out string? accept) || accept != ComputeAccept(key))
        {
            throw new WebSocketHandshakeException("Sec-WebSocket-Accept does not match the key");
        }
        if (headers.TryGetValue("Sec-WebSocket-Extensions", out string? extensions) && extensions.Length > 0)
        {
            throw new WebSocketHandshakeException($"server selected an extension the client did not offer: {extensions}");
        }
        if (headers.TryGetValue("Sec-WebSocket-Protocol", out string? selected))
        {
            if (!subprotocols.Contains(selected, StringComparer.Ordinal))
            {
                throw new WebSocketHandshakeException($"server selected a subprotocol the client did not offer: {selected}");
            }
            Subprotocol = selected;
        }
    }

    /// <summary>Sends one message as a single masked frame. Thread-safe.</summary>
    public async Task SendAsync(Opcode type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        byte[] frame = FrameCodec.EncodeMasked(type, payload.Span);
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closeSent)
            {
                throw new InvalidOperationException("close already sent");
            }
            _closeSent = type == Opcode.Close;
            await _stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a text message.</summary>
    public Task SendTextAsync(string text, CancellationToken cancellationToken = default) =>
        SendAsync(Opcode.Text, Encoding.UTF8.GetBytes(text), cancellationToken);

    /// <summary>Sends a close frame (once; later calls do nothing). Does not wait for the reply: keep reading until <see cref="ReceiveAsync"/> returns Close.</summary>
    public async Task CloseAsync(int code, string reason, CancellationToken cancellationToken = default)
    {
        byte[] reasonBytes = Encoding.UTF8.GetBytes(reason);
        byte[] payload = new byte[2 + Math.Min(reasonBytes.Length, 123)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        reasonBytes.AsSpan(0, payload.Length - 2).CopyTo(payload.AsSpan(2));
        try
        {
            await SendAsync(Opcode.Close, payload, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // close already sent
        }
    }

    /// <summary>
    /// Reads the next text or binary message, answering pings on the way. Returns a Close message when the server
    /// closes (after replying to it), and throws <see cref="IOException"/> when the connection drops or the server
    /// violates the protocol (then the connection is closed with 1002).
    /// </summary>
    public async Task<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var message = new ArrayBufferWriter<byte>();
        Opcode messageType = 0;
        while (true)
        {
            bool fin;
            Opcode opcode;
            long length;
            int consumed;
            string? error;
            while (!FrameCodec.TryReadHeader(_buffer.AsSpan(_start, _end - _start), out fin, out opcode, out length, out consumed, out error))
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
            if (error is null && (opcode == Opcode.Continuation) == (messageType == 0))
            {
                error = messageType == 0 ? "continuation without a message" : "new message before the last one ended"; // RFC 6455 §5.4
            }
            if (error is null && message.WrittenCount + length > MaxMessageSize)
            {
                error = "message too big";
            }
            if (error is not null)
            {
                await CloseAsync(1002, "protocol error", CancellationToken.None).ConfigureAwait(false);
                throw new IOException($"protocol error from the server: {error}");
            }
            _start += consumed;
            byte[] payload = await ReadPayloadAsync((int)length, cancellationToken).ConfigureAwait(false);
            switch (opcode)
            {
                case Opcode.Ping:
                    await SendAsync(Opcode.Pong, payload, cancellationToken).ConfigureAwait(false); // RFC 6455 §5.5.2
                    continue;
                case Opcode.Pong:
                    continue;
                case Opcode.Close:
                    int code = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : 1005;
                    string reason = payload.Length > 2 ? Encoding.UTF8.GetString(payload, 2, payload.Length - 2) : "";
                    // RFC 6455 §5.5.1: answer a close with a close (echoing the code), unless we sent one first.
                    await CloseAsync(code == 1005 ? 1000 : code, "", CancellationToken.None).ConfigureAwait(false);
                    return new ReceivedMessage(Opcode.Close, [], code, reason);
            }
            if (opcode != Opcode.Continuation)
            {
                messageType = opcode;
            }
            message.Write(payload);
            if (fin)
            {
                return new ReceivedMessage(messageType, message.WrittenSpan.ToArray());
            }
        }
    }

    private async Task<byte[]> ReadPayloadAsync(int length, CancellationToken cancellationToken)
    {
        byte[] payload = new byte[length];
        int copied = 0;
        while (copied < length)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
            int take = Math.Min(length - copied, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(payload.AsSpan(copied));
            _start += take;
            copied += take;
        }
        return payload;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new IOException("connection closed by the server without a close frame");
        }
        _end += read;
    }

    /// <summary>Drops the TCP connection at once.</summary>
    public void Abort()
    {
        try
        {
            _socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the socket (no closing handshake: use <see cref="CloseAsync"/> first for a clean close).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _sendLock.Dispose();
    }
}
