using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Engine.Protocol;

namespace Engine.Tests.Support;

/// <summary>A deliberately low-level client for what ClientWebSocket will not do: unmasked frames, never answering pings, raw HTTP.</summary>
internal sealed class RawClient : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _received = new();

    private RawClient(Socket socket)
    {
        _socket = socket;
    }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port);
        return new RawClient(socket);
    }

    public static string UpgradeRequest(string extraHeaders = "", string version = "13", string key = "dGhlIHNhbXBsZSBub25jZQ==") =>
        $"GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n{extraHeaders}\r\n";

    public Task SendAsync(string text) => SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>Sends the upgrade and reads the response head; returns its status line.</summary>
    public async Task<string> HandshakeAsync()
    {
        await SendAsync(UpgradeRequest());
        string head = await ReadHeadAsync();
        return head.Split("\r\n")[0];
    }

    /// <summary>Reads until the end of an HTTP response head and returns it.</summary>
    public async Task<string> ReadHeadAsync()
    {
        while (true)
        {
            int end = IndexOf(_received, "\r\n\r\n"u8);
            if (end >= 0)
            {
                string head = Encoding.ASCII.GetString(_received.GetRange(0, end + 4).ToArray());
                _received.RemoveRange(0, end + 4);
                return head;
            }
            if (!await FillAsync())
            {
                return Encoding.ASCII.GetString(_received.ToArray());
            }
        }
    }

    /// <summary>A client frame: masked unless told otherwise.</summary>
    public static byte[] Frame(Opcode opCode, ReadOnlySpan<byte> payload, bool fin = true, bool masked = true, byte rsv = 0)
    {
        var frame = new byte[ClientFrameWriter.FrameSize(payload.Length, masked)];
        uint key = masked ? BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4)) : 0;
        ClientFrameWriter.Write(frame, (byte)opCode, payload, key, fin, rsv, masked);
        return frame;
    }

    /// <summary>The RSV bits of the frame <see cref="ReadFrameAsync"/> returned last (RSV1 = 4: permessage-deflate).</summary>
    public byte LastRsv { get; private set; }

    /// <summary>Reads one server frame, or null when the connection ends first.</summary>
    public async Task<(Opcode Opcode, bool Fin, byte[] Payload)?> ReadFrameAsync()
    {
        while (true)
        {
            byte[] buffer = _received.ToArray();
            if (FrameReader.TryReadHeader(buffer, out FrameHeader header, out int length) == System.Buffers.OperationStatus.Done
                && buffer.Length >= length + header.PayloadLength)
            {
                Assert.False(header.Masked, "server frames must not be masked");
                byte[] payload = buffer.AsSpan(length, (int)header.PayloadLength).ToArray();
                _received.RemoveRange(0, length + (int)header.PayloadLength);
                LastRsv = header.Rsv;
                return (header.Opcode, header.Fin, payload);
            }
            if (!await FillAsync())
            {
                return null;
            }
        }
    }

    /// <summary>Reads frames until a close frame; returns its code (1005 for an empty body) or null if the connection ended without one.</summary>
    public async Task<int?> ReadCloseCodeAsync()
    {
        while (await ReadFrameAsync() is { } frame)
        {
            if (frame.Opcode == Opcode.Close)
            {
                return frame.Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(frame.Payload) : 1005;
            }
        }
        return null;
    }

    /// <summary>True when the server closes the TCP connection within <paramref name="timeout"/> (after any remaining bytes).</summary>
    public async Task<bool> WaitForEndAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true; // reset
        }
    }

    public void Dispose() => _socket.Dispose();

    private async Task<bool> FillAsync()
    {
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TestTimeouts.Hang); // a silent server fails the test, not hangs it
        int n;
        try
        {
            n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        }
        catch (SocketException)
        {
            return false;
        }
        if (n == 0)
        {
            return false;
        }
        _received.AddRange(buffer.AsSpan(0, n));
        return true;
    }

    private static int IndexOf(List<byte> data, ReadOnlySpan<byte> pattern)
    {
        for (int i = 0; i + pattern.Length <= data.Count; i++)
        {
            bool match = true;
            for (int j = 0; j < pattern.Length && match; j++)
            {
                match = data[i + j] == pattern[j];
            }
            if (match)
            {
                return i;
            }
        }
        return -1;
    }
}
