using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Storm;

/// <summary>
/// One storm connection on a raw socket, kept small for volume (19,000 at once): a 2 KiB receive buffer and a 256-byte
/// send buffer, reused for every cycle of its slot. Speaks just enough RFC 6455 for the storm: the upgrade, one masked
/// echo, pongs to the server's heartbeat pings, and either a clean 1000 close or an abortive reset (SO_LINGER 0).
/// Not thread-safe: one slot loop drives it.
/// </summary>
internal sealed class WirePeer
{
    private static readonly byte[] MaskKey = [0x37, 0xFA, 0x21, 0x3D];
    private readonly byte[] _buffer = new byte[2048];
    private readonly byte[] _send = new byte[256];
    private readonly byte[] _request;
    private readonly IPEndPoint _server;
    private readonly IPAddress _source;
    private Socket? _socket;
    private int _start;
    private int _end;

    public WirePeer(IPEndPoint server, IPAddress source)
    {
        _server = server;
        _source = source;
        _request = Encoding.ASCII.GetBytes($"GET /storm HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    }

    /// <summary>Pings answered with a pong since this peer was made (the server's heartbeats).</summary>
    public long Pongs { get; private set; }

    /// <summary>Of the last <see cref="ConnectAndEchoAsync"/>: ms until TCP connected, and until the 101 arrived.</summary>
    public (double Connected, double Upgraded) LastPhases { get; private set; }

    /// <summary>Connects, upgrades and gets one echo back; throws on anything else (the slot counts it as a failure).</summary>
    public async Task ConnectAndEchoAsync(CancellationToken timeout)
    {
        _start = _end = 0;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        LastPhases = (-1, -1);
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Bind(new IPEndPoint(_source, 0));
        await _socket.ConnectAsync(_server, timeout);
        double connected = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LastPhases = (connected, -1);
        await SendAsync(_request);
        int headEnd;
        while ((headEnd = _buffer.AsSpan(0, _end).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (!await ReceiveAsync(timeout))
            {
                // The time tells a refusal from the Host's handshake timeout (5 s by default): a client process that
                // fell that far behind between its connect and its request is cut, as a slowloris peer would be.
                throw new IOException($"the server ended the connection during the upgrade, {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms " +
                    $"after the connect began (connected at {connected:F0} ms)");
            }
        }
        if (!_buffer.AsSpan(0, headEnd).StartsWith("HTTP/1.1 101 "u8))
        {
            throw new IOException("upgrade refused: " + Encoding.ASCII.GetString(_buffer, 0, Math.Min(headEnd, 64)));
        }
        _start = headEnd + 4;
        LastPhases = (connected, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        await SendFrameAsync(0x1, "storm"u8.ToArray());
        (int opcode, int length) = await NextFrameAsync(timeout);
        if (opcode != 0x1 || length != 5)
        {
            throw new IOException($"expected the echo, got opcode {opcode} ({length} bytes)");
        }
    }

    /// <summary>
    /// Holds the connection open for <paramref name="hold"/>, answering pings. False when the server ended it first
    /// (a close frame or the end of TCP), which the storm never asks for.
    /// </summary>
    public async Task<bool> HoldAsync(TimeSpan hold)
    {
        if (hold <= TimeSpan.Zero)
        {
            return true;
        }
        using var until = new CancellationTokenSource(hold);
        try
        {
            while (true)
            {
                (int opcode, _) = await NextFrameAsync(until.Token);
                if (opcode is 0x8 or -1)
                {
                    return false;
                }
            }
        }
        catch (OperationCanceledException) when (until.IsCancellationRequested)
        {
            return true;
        }
    }

    /// <summary>RFC 6455 §5.5.1: sends Close 1000, waits for the server's Close and for it to end TCP, then closes.</summary>
    public async Task CloseCleanlyAsync(CancellationToken timeout)
    {
        await SendFrameAsync(0x8, [0x03, 0xE8]);
        int opcode;
        do
        {
            (opcode, _) = await NextFrameAsync(timeout);
        }
        while (opcode is not (0x8 or -1));
        while (opcode != -1 && await ReceiveAsync(timeout))
        {
            _start = _end; // after its Close the server sends nothing more; wait for its FIN
        }
        Dispose(reset: false);
    }

    /// <summary>Ends the connection without a close handshake: SO_LINGER 0 makes the close send an RST.</summary>
    public void Reset() => Dispose(reset: true);

    public void Dispose(bool reset)
    {
        if (_socket is { } socket)
        {
            _socket = null;
            if (reset)
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
                catch (SocketException)
                {
                    // Already reset by the server: the dispose below still frees the descriptor.
                }
            }
            socket.Dispose();
        }
    }

    /// <summary>The next data or close frame (opcode, payload length); pings are answered on the way. Opcode -1: TCP ended.</summary>
    private async Task<(int Opcode, int Length)> NextFrameAsync(CancellationToken token)
    {
        while (true)
        {
            while (TryTakeFrame(out int opcode, out int offset, out int length))
            {
                if (opcode == 0x9)
                {
                    await SendFrameAsync(0xA, _buffer.AsSpan(offset, length).ToArray());
                    Pongs++;
                    continue;
                }
                if (opcode != 0xA)
                {
                    return (opcode, length);
                }
            }
            if (!await ReceiveAsync(token))
            {
                return (-1, 0);
            }
        }
    }

    private bool TryTakeFrame(out int opcode, out int offset, out int length)
    {
        opcode = offset = length = 0;
        ReadOnlySpan<byte> data = _buffer.AsSpan(_start, _end - _start);
        if (data.Length < 2)
        {
            return false;
        }
        int header = 2;
        long size = data[1] & 0x7F;
        if (size == 126)
        {
            header = 4;
            size = data.Length >= 4 ? BinaryPrimitives.ReadUInt16BigEndian(data[2..]) : 0;
        }
        else if (size == 127)
        {
            throw new IOException("a 64-bit frame length: the storm's frames are all small");
        }
        if ((data[1] & 0x80) != 0 || size > _buffer.Length - header)
        {
            throw new IOException("a masked or oversized server frame");
        }
        if (data.Length < header + size)
        {
            return false;
        }
        opcode = data[0] & 0x0F;
        offset = _start + header;
        length = (int)size;
        _start += header + length;
        return true;
    }

    private async Task<bool> ReceiveAsync(CancellationToken token)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            throw new IOException("receive buffer full");
        }
        int n = await _socket!.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, token);
        _end += n;
        return n > 0;
    }

    /// <summary>A final, masked client frame (RFC 6455 §5.3: every client frame is masked).</summary>
    private Task SendFrameAsync(int opcode, byte[] payload)
    {
        _send[0] = (byte)(0x80 | opcode);
        _send[1] = (byte)(0x80 | payload.Length); // the storm's payloads are all under 126 bytes
        MaskKey.CopyTo(_send, 2);
        for (int i = 0; i < payload.Length; i++)
        {
            _send[6 + i] = (byte)(payload[i] ^ MaskKey[i & 3]);
        }
        return SendAsync(_send.AsMemory(0, 6 + payload.Length));
    }

    private async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            int n = await _socket!.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[n..];
        }
    }
}
