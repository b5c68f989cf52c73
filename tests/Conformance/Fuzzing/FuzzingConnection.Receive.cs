using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Conformance.Fuzzing;

public sealed partial class FuzzingConnection
{
    private const string WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>RFC 6455 §4.1 client handshake. Returns any bytes that arrived after the response headers.</summary>
    private async Task<byte[]> HandshakeAsync(Socket socket, Uri url, CancellationToken cancellationToken)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var path = string.IsNullOrEmpty(url.PathAndQuery) ? "/" : url.PathAndQuery;
        var request =
            $"GET {path} HTTP/1.1\r\n" +
            $"Host: {url.Host}:{url.Port}\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            (_case.ExtensionOffer is { } offer ? $"Sec-WebSocket-Extensions: {offer}\r\n" : "") +
            "User-Agent: Engine.Tests.Conformance\r\n\r\n";
        var requestBytes = Encoding.ASCII.GetBytes(request);
        await socket.SendAsync(requestBytes, SocketFlags.None, cancellationToken);
        Traffic.AddTx(requestBytes.Length);

        var buffer = new byte[8192];
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                throw new InvalidDataException("handshake response headers too large");
            }
            int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new InvalidDataException("server closed the connection during the opening handshake");
            }
            Traffic.AddRx(n);
            filled += n;
            int end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                continue;
            }
            var head = Encoding.ASCII.GetString(buffer, 0, end);
            var lines = head.Split("\r\n");
            var status = lines[0].Split(' ', 3);
            if (status.Length < 2 || status[1] != "101")
            {
                throw new InvalidDataException($"opening handshake refused: {lines[0]}");
            }
            var expectedAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + WebSocketGuid)));
            bool acceptOk = false;
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
                {
                    acceptOk = line[(colon + 1)..].Trim() == expectedAccept;
                }
                if (colon > 0 && line[..colon].Trim().Equals("Sec-WebSocket-Extensions", StringComparison.OrdinalIgnoreCase))
                {
                    // RFC 6455 §4.1: an extension the client did not offer fails the handshake; so does a bad answer (RFC 7692 §7.1).
                    string answer = line[(colon + 1)..].Trim();
                    Deflate = _case.ExtensionOffer is { } offered
                        ? ClientDeflate.FromResponse(answer, offered, out string? error) ?? throw new InvalidDataException(error)
                        : throw new InvalidDataException($"server answered an extension that was not offered: {answer}");
                }
            }
            if (!acceptOk)
            {
                throw new InvalidDataException("missing or wrong Sec-WebSocket-Accept");
            }
            return buffer.AsSpan(end + 4, filled - end - 4).ToArray();
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, byte[] leftover)
    {
        var buffer = new byte[Math.Max(1 << 16, leftover.Length * 2)];
        leftover.CopyTo(buffer, 0);
        int start = 0, end = leftover.Length;
        try
        {
            while (true)
            {
                ParseFrames(buffer, ref start, end);
                if (start == end)
                {
                    start = end = 0;
                }
                if (end == buffer.Length)
                {
                    // Make room: slide the partial frame down, or grow for a frame bigger than the buffer.
                    int used = end - start;
                    var target = used > buffer.Length / 2 ? new byte[buffer.Length * 2] : buffer;
                    Buffer.BlockCopy(buffer, start, target, 0, used);
                    buffer = target;
                    start = 0;
                    end = used;
                }
                int n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None);
                if (n == 0)
                {
                    break;
                }
                Traffic.AddRx(n);
                end += n;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Reset by the peer, or we dropped the connection ourselves.
        }
        lock (_gate)
        {
            if (State != ConnectionState.Closed)
            {
                Log("TCP closed by peer");
                try
                {
                    socket.Dispose();
                }
                catch (SocketException)
                {
                }
                ConnectionLost();
            }
        }
    }

    private void ParseFrames(byte[] buffer, ref int start, int end)
    {
        while (end - start >= 2)
        {
            var span = buffer.AsSpan(start, end - start);
            bool fin = (span[0] & 0x80) != 0;
            int rsv = (span[0] >> 4) & 7;
            int opcode = span[0] & 0x0F;
            bool masked = (span[1] & 0x80) != 0;
            long length = span[1] & 0x7F;
            int header = 2;
            if (length == 126)
            {
                if (span.Length < 4) return;
                length = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
                header = 4;
            }
            else if (length == 127)
            {
                if (span.Length < 10) return;
                length = (long)BinaryPrimitives.ReadUInt64BigEndian(span[2..]);
                header = 10;
            }
            if (masked)
            {
                header += 4;
            }
            if (length > int.MaxValue - header)
            {
                lock (_gate)
                {
                    FailConnection("server frame too large for the fuzzer");
                }
                start = end;
                return;
            }
            if (span.Length < header + length)
            {
                return;
            }
            var payload = span.Slice(header, (int)length).ToArray();
            if (masked)
            {
                var mask = span.Slice(header - 4, 4);
                for (int i = 0; i < payload.Length; i++)
                {
                    payload[i] ^= mask[i & 3];
                }
            }
            start += header + (int)length;
            lock (_gate)
            {
                if (State == ConnectionState.Closed)
                {
                    return;
                }
                Run(() => HandleFrame(fin, rsv, opcode, masked, payload));
            }
        }
    }

    private void HandleFrame(bool fin, int rsv, int opcode, bool masked, byte[] payload)
    {
        TrafficStats.Count(Traffic.RxFrames, opcode);
        Log($"RF op={opcode} fin={fin} rsv={rsv} len={payload.Length}{(masked ? " masked" : "")}");
        if (_closeReceived)
        {
            return; // RFC 6455 §5.5.1: nothing follows a Close.
        }

        // RFC 6455 §5.1-5.2: a server never masks, and without extensions RSV and unknown opcodes are errors.
        // RFC 7692 §6: with permessage-deflate, RSV1 may mark the first frame of a data message, nothing else.
        bool control = opcode >= 8;
        bool compressedStart = Deflate is not null && rsv == 4 && opcode is 1 or 2;
        if (masked || (rsv != 0 && !compressedStart) || opcode is (>= 3 and <= 7) or > 10 || (control && (!fin || payload.Length > 125)))
        {
            FailConnection("the server sent an invalid frame");
            return;
        }

        switch (opcode)
        {
            case 0 or 1 or 2:
                if ((opcode == 0) == (_message is null))
                {
                    FailConnection("the server broke message fragmentation");
                    return;
                }
                if (opcode != 0)
                {
                    _message = new MemoryStream();
                    _messageOpcode = opcode;
                    _messageCompressed = compressedStart;
                }
                _message!.Write(payload);
                if (fin)
                {
                    var message = _message.ToArray();
                    _message = null;
                    if (_messageCompressed)
                    {
                        if (Deflate!.Inflate(message) is not { } inflated)
                        {
                            FailConnection("the server sent a compressed message that does not inflate");
                            return;
                        }
                        message = inflated;
                    }
                    // Like Autobahn's client, the fuzzer fails the connection instead of accepting invalid UTF-8 from the server.
                    if (_messageOpcode == 1 && !System.Text.Unicode.Utf8.IsValid(message))
                    {
                        FailConnection("the server sent a text message that is not valid UTF-8");
                        return;
                    }
                    _case.OnMessage(message, _messageOpcode == 2);
                }
                break;
            case 9:
                _case.OnPing(payload);
                if (State == ConnectionState.Open)
                {
                    SendFrame(10, payload);
                }
                break;
            case 10:
                _case.OnPong(payload);
                break;
            case 8:
                _closeReceived = true;
                if (payload.Length == 1 || (payload.Length >= 2 && !IsValidCloseCode(BinaryPrimitives.ReadUInt16BigEndian(payload)))
                    || (payload.Length > 2 && !System.Text.Unicode.Utf8.IsValid(payload.AsSpan(2))))
                {
                    // RFC 6455 §5.5.1, §7.4: a malformed Close from the server is a protocol violation; the fuzzer fails the connection.
                    FailConnection("the server sent an invalid Close frame");
                    return;
                }
                if (payload.Length >= 2)
                {
                    RemoteCloseCode = BinaryPrimitives.ReadUInt16BigEndian(payload);
                    RemoteCloseReason = Encoding.UTF8.GetString(payload, 2, payload.Length - 2);
                }
                if (State == ConnectionState.Closing)
                {
                    // We started the closing handshake and it is now complete; the server should drop TCP next.
                    WasClean = true;
                }
                else if (State == ConnectionState.Open)
                {
                    WasClean = true;
                    SendCloseFrame(1000, isReply: true);
                }
                After(ServerConnectionDropTimeout, () =>
                {
                    WasServerConnectionDropTimeout = true;
                    WasClean = false;
                    WasNotCleanReason = "server did not drop TCP connection (in time)";
                    Drop();
                });
                break;
        }
    }

    /// <summary>RFC 6455 §7.4.1-7.4.2: codes a server may put on the wire (1005, 1006 and 1015 never are).</summary>
    private static bool IsValidCloseCode(int code) => code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);
}
