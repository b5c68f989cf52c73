using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Resilience;

/// <summary>
/// A minimal RFC 6455 client on a raw socket, built for volume: frames are parsed from one growing buffer (no copy per
/// frame), writes are serialized by a lock so a sender and the close reply never interleave. It answers pings and
/// replies to the server's close, then reads until the server ends TCP.
/// </summary>
internal sealed class WirePeer : IDisposable
{
    private readonly Socket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public WirePeer(Socket socket)
    {
        _socket = socket;
    }

    /// <summary>The server's close code, once its close frame arrived.</summary>
    public int? CloseCode { get; private set; }

    public static async Task<WirePeer> ConnectAsync(string host, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host, port);
        var peer = new WirePeer(socket);
        await peer.HandshakeAsync();
        return peer;
    }

    public async Task HandshakeAsync()
    {
        await SendRawAsync(Encoding.ASCII.GetBytes(
            "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        while (true)
        {
            int end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                string status = Encoding.ASCII.GetString(_buffer, _start, Math.Max(0, _buffer.AsSpan(_start, end).IndexOf("\r\n"u8)));
                _start += end + 4;
                if (!status.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("upgrade refused: " + status);
                }
                return;
            }
            if (!await FillAsync())
            {
                throw new InvalidOperationException("the server closed during the handshake");
            }
        }
    }

    /// <summary>Appends one masked frame to <paramref name="to"/> (mask key fixed: these tests are not about masking).</summary>
    public static void AppendFrame(List<byte> to, byte opCode, ReadOnlySpan<byte> payload, bool fin = true)
    {
        byte[] frame = new byte[ClientFrameWriter.FrameSize(payload.Length)];
        ClientFrameWriter.Write(frame, opCode, payload, maskKey: 0x78563412, fin); // wire bytes 12 34 56 78
        to.AddRange(frame);
    }

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Reads frames until the server ends the connection: data frames go to <paramref name="onMessage"/>; pings are
    /// answered; a close frame is recorded and answered. Returns when TCP ends (or <paramref name="timeout"/> passes).
    /// </summary>
    public async Task ReadUntilEndAsync(Action<byte, ReadOnlyMemory<byte>> onMessage, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            while (TryTakeFrame(out byte opCode, out ReadOnlyMemory<byte> payload))
            {
                switch (opCode)
                {
                    case 0x9:
                        var pong = new List<byte>();
                        AppendFrame(pong, 0xA, payload.Span);
                        await SendRawAsync(pong.ToArray());
                        break;
                    case 0x8:
                        if (CloseCode is null)
                        {
                            CloseCode = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload.Span) : 1005;
                            var close = new List<byte>();
                            AppendFrame(close, 0x8, payload.Span[..Math.Min(2, payload.Length)]);
                            try
                            {
                                await SendRawAsync(close.ToArray());
                            }
                            catch (SocketException)
                            {
                                // The server may already have dropped us (shutdown timeout): the close was still seen.
                            }
                        }
                        break;
                    case 0xA:
                        break;
                    default:
                        onMessage(opCode, payload);
                        break;
                }
            }
            if (!await FillAsync(cts.Token))
            {
                // The server ended TCP (after the close handshake): end ours too, as a browser would.
                await _sendLock.WaitAsync();
                try
                {
                    _socket.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                }
                finally
                {
                    _sendLock.Release();
                }
                return;
            }
        }
    }

    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public void Dispose()
    {
        _socket.Dispose();
        _sendLock.Dispose();
    }

    private bool TryTakeFrame(out byte opCode, out ReadOnlyMemory<byte> payload)
    {
        opCode = 0;
        payload = default;
        ReadOnlySpan<byte> data = _buffer.AsSpan(_start, _end - _start);
        if (data.Length < 2)
        {
            return false;
        }
        long length = data[1] & 0x7F;
        int header = 2;
        if (length == 126)
        {
            if (data.Length < 4)
            {
                return false;
            }
            length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
            header = 4;
        }
        else if (length == 127)
        {
            if (data.Length < 10)
            {
                return false;
            }
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(data[2..]);
            header = 10;
        }
        if ((data[1] & 0x80) != 0)
        {
            throw new InvalidDataException("server frames must not be masked");
        }
        if (data.Length < header + length)
        {
            return false;
        }
        opCode = (byte)(data[0] & 0x0F);
        payload = _buffer.AsMemory(_start + header, (int)length);
        _start += header + (int)length;
        return true;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken = default)
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
        int n;
        try
        {
            n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        _end += n;
        return n > 0;
    }
}
