using System.Net.WebSockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using Engine.Protocol;
using Engine.Buffers;
using Engine.Runtime;
using Engine.Session;
using Engine.Timers;
using Engine.Transports;

namespace Engine.Benchmarks.Micro;

/// <summary>
/// One echo round trip on an open connection, no sockets: a masked text frame is received (unmask, UTF-8 check,
/// delivery) and the echo frame is queued and drained from the <see cref="SendQueue"/>. The baseline does the
/// same with the framework's <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/> over an
/// in-memory duplex stream.
/// </summary>
[MemoryDiagnoser]
public class SessionBenchmarks
{
    private readonly EchoHost _host = new();
    private WebSocketSession _session = null!;
    private byte[] _frame = [];
    private byte[] _receive = [];
    private SendQueue _output = null!;

    private MemoryDuplexStream _stream = null!;
    private WebSocket _framework = null!;
    private byte[] _frameworkBuffer = [];

    [Params(16, 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] payload = Encoding.ASCII.GetBytes(new string('x', Size));
        _frame = new byte[FrameWriter.HeaderLength(Size, masked: true) + Size];
        int header = FrameWriter.WriteMaskedHeader(_frame, Opcode.Text, fin: true, Size, 0x37FA213D);
        payload.CopyTo(_frame.AsSpan(header));
        Masking.Apply(_frame.AsSpan(header), 0x37FA213D, 0);
        _receive = new byte[_frame.Length];

        var pool = new BlockPool(16 * 1024, 64);
        _output = new SendQueue(pool); // segment lists pooled, as the server does
        _session = new WebSocketSession(_output);
        _host.Session = _session;
        var settings = new SessionSettings(
            MaxMessageSize: 1 << 20, MaxRequestHeadSize: 8192, Streamed: false, HandshakeTimeoutMs: 5_000,
            HeartbeatIntervalMs: 0, HeartbeatTimeoutMs: 10_000, CloseTimeoutMs: 2_000, IdleTimeoutMs: 0) { Wheel = new TimerWheel(100, 64, 0) };
        _session.Start(_host, settings, 0);
        byte[] request = Encoding.ASCII.GetBytes(
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        _session.Receive(request, 0);
        if (_session.State != SessionState.Open)
        {
            throw new InvalidOperationException("handshake failed");
        }
        QueueDrain.Drain(_output);
        if (EngineRoundTrip() != FrameWriter.HeaderLength(Size, masked: false) + Size)
        {
            throw new InvalidOperationException("no echo");
        }

        _stream = new MemoryDuplexStream(_frame);
        _framework = WebSocket.CreateFromStream(_stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        _frameworkBuffer = new byte[16 * 1024];
        if (FrameworkRoundTrip() != FrameWriter.HeaderLength(Size, masked: false) + Size)
        {
            throw new InvalidOperationException("no framework echo");
        }
    }

    [Benchmark(Baseline = true)]
    public int FrameworkRoundTrip()
    {
        _stream.Rewind();
        ValueTask<ValueWebSocketReceiveResult> receive = _framework.ReceiveAsync(_frameworkBuffer.AsMemory(), CancellationToken.None);
        ValueWebSocketReceiveResult result = receive.IsCompletedSuccessfully ? receive.Result : receive.AsTask().GetAwaiter().GetResult();
        ValueTask send = _framework.SendAsync(_frameworkBuffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, CancellationToken.None);
        if (!send.IsCompletedSuccessfully)
        {
            send.AsTask().GetAwaiter().GetResult();
        }
        return _stream.TakeWritten();
    }

    [Benchmark]
    public int EngineRoundTrip()
    {
        // The socket read: fresh masked bytes each time (the session unmasks in place).
        _frame.CopyTo(_receive, 0);
        _session.Receive(_receive, 1);
        return QueueDrain.Drain(_output);
    }

    private sealed class EchoHost : ISessionHost
    {
        public WebSocketSession Session { get; set; } = null!;

        public UpgradeDecision OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head) => UpgradeDecision.Accept();

        public Engine.HttpResponse? OnHttpRequest(ReadOnlySpan<byte> buffer, in HttpRequestHead head) => null;

        public void OnOpen()
        {
        }

        public void OnMessage(ReadOnlySpan<byte> payload, MessageType type, bool endOfMessage) =>
            Session.Send(payload, type, long.MaxValue);

        public void OnClosed(CloseCode code, ReadOnlySpan<byte> reason)
        {
        }

        public void OnTimeout(SessionTimeout timeout)
        {
        }

        public void OnEnded(Exception? error)
        {
        }
    }
}

/// <summary>Reads replay one client frame; writes are counted and dropped. Completes synchronously, allocates nothing.</summary>
internal sealed class MemoryDuplexStream(byte[] input) : Stream
{
    private int _position;
    private int _written;

    public void Rewind() => _position = 0;

    public int TakeWritten()
    {
        int written = _written;
        _written = 0;
        return written;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int take = Math.Min(buffer.Length, input.Length - _position);
        input.AsSpan(_position, take).CopyTo(buffer);
        _position += take;
        return take;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

    public override void Write(byte[] buffer, int offset, int count) => _written += count;

    public override void Write(ReadOnlySpan<byte> buffer) => _written += buffer.Length;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _written += buffer.Length;
        return default;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
