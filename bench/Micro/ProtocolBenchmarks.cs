using System.Buffers;
using System.Text;
using System.Text.Unicode;
using BenchmarkDotNet.Attributes;
using Engine.Protocol;
using Engine.Buffers;
using Engine.Transports;

namespace Engine.Benchmarks.Micro;

/// <summary>Frame header parsing: the three length encodings, masked as a client sends them.</summary>
[MemoryDiagnoser]
public class FrameReaderBenchmarks
{
    private readonly byte[] _small = new byte[FrameReader.MaxHeaderLength];
    private readonly byte[] _medium = new byte[FrameReader.MaxHeaderLength];
    private readonly byte[] _large = new byte[FrameReader.MaxHeaderLength];

    [GlobalSetup]
    public void Setup()
    {
        FrameWriter.WriteMaskedHeader(_small, Opcode.Text, true, 16, 0x12345678);
        FrameWriter.WriteMaskedHeader(_medium, Opcode.Binary, true, 1024, 0x12345678);
        FrameWriter.WriteMaskedHeader(_large, Opcode.Binary, true, 1 << 20, 0x12345678);
    }

    [Benchmark]
    public long Header7BitLength() => Read(_small);

    [Benchmark]
    public long Header16BitLength() => Read(_medium);

    [Benchmark]
    public long Header64BitLength() => Read(_large);

    private static long Read(ReadOnlySpan<byte> input)
    {
        FrameReader.TryReadHeader(input, out FrameHeader header, out int consumed);
        return header.PayloadLength + consumed + (FrameRules.Check(header, inMessage: false, allowedRsv: 0) == ProtocolError.None ? 1 : 0);
    }
}

/// <summary>Unmasking a payload in place: the vectorized <see cref="Masking.Apply"/> against a byte-at-a-time loop.</summary>
[MemoryDiagnoser]
public class MaskingBenchmarks
{
    private byte[] _data = [];

    [Params(16, 1024, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(42).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public int Scalar()
    {
        const uint key = 0x37FA213D;
        byte[] data = _data;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] ^= (byte)(key >> (8 * (i & 3)));
        }
        return data.Length & 3;
    }

    [Benchmark]
    public int Vectorized() => Masking.Apply(_data, 0x37FA213D, 0);
}

/// <summary>Text validation: our incremental validator (whole, and in TCP-segment-sized pieces) against Utf8.IsValid.</summary>
[MemoryDiagnoser]
public class Utf8ValidationBenchmarks
{
    private byte[] _data = [];

    [Params("ascii", "mixed")]
    public string Text { get; set; } = "ascii";

    [Params(1024, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string sample = Text == "ascii"
            ? "The quick brown fox jumps over the lazy dog. 0123456789 {\"json\": true}\n"
            : "Hello κόσμε, привет мир, 你好世界, emoji 😀🎉, café crème — 1234\n";
        byte[] repeated = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(sample, Size / 8 + 1)));
        // Cut at a character boundary at or below Size, then pad with ASCII to exactly Size bytes.
        int cut = Size;
        while ((repeated[cut] & 0xC0) == 0x80)
        {
            cut--;
        }
        _data = new byte[Size];
        repeated.AsSpan(0, cut).CopyTo(_data);
        _data.AsSpan(cut).Fill((byte)'.');
        if (!Utf8.IsValid(_data))
        {
            throw new InvalidOperationException("benchmark input is not valid UTF-8");
        }
    }

    [Benchmark(Baseline = true)]
    public bool FrameworkIsValid() => Utf8.IsValid(_data);

    [Benchmark]
    public bool Incremental()
    {
        var validator = new Utf8Validator();
        return validator.Append(_data) && validator.IsComplete;
    }

    /// <summary>The message as it arrives from the network: 1460-byte pieces, sequences cut at the seams.</summary>
    [Benchmark]
    public bool IncrementalInSegments()
    {
        var validator = new Utf8Validator();
        ReadOnlySpan<byte> rest = _data;
        while (rest.Length > 0)
        {
            int take = Math.Min(1460, rest.Length);
            if (!validator.Append(rest.Slice(0, take)))
            {
                return false;
            }
            rest = rest.Slice(take);
        }
        return validator.IsComplete;
    }
}

/// <summary>Framing an outgoing message: header and payload into a pooled block, and through the connection's send queue.</summary>
[MemoryDiagnoser]
public class FrameWriterBenchmarks
{
    private readonly BlockPool _pool = new(16 * 1024, 64);
    private Engine.Transports.SendQueue _queue = null!;
    private byte[] _payload = [];

    [Params(16, 1024)]
    public int PayloadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[PayloadSize];
        new Random(1).NextBytes(_payload);
        _queue = new Engine.Transports.SendQueue(_pool); // segment lists pooled, as the server does
        EnqueueAndDrain(); // grow the segment lists once
    }

    [Benchmark]
    public int IntoPooledBlock()
    {
        byte[] block = _pool.Rent();
        int header = FrameWriter.WriteHeader(block, Opcode.Binary, fin: true, _payload.Length);
        _payload.CopyTo(block.AsSpan(header));
        _pool.Return(block);
        return header;
    }

    [Benchmark]
    public int EnqueueAndDrain()
    {
        // As the session frames a message: the header on the stack, then header and payload copied into the queue.
        Span<byte> header = stackalloc byte[FrameReader.MaxHeaderLength];
        int length = FrameWriter.WriteHeader(header, Opcode.Binary, fin: true, _payload.Length);
        _queue.TryWrite(header.Slice(0, length), _payload, long.MaxValue, final: false);
        return QueueDrain.Drain(_queue);
    }
}

/// <summary>The opening handshake: parse the head, validate it, compute Sec-WebSocket-Accept. Once per connection, so no allocation budget.</summary>
[MemoryDiagnoser]
public class HandshakeBenchmarks
{
    private static readonly byte[] Request = Encoding.ASCII.GetBytes(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
        "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCache-Control: no-cache\r\n" +
        "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Origin: http://example.com\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "Sec-WebSocket-Version: 13\r\n\r\n");

    private readonly byte[] _accept = new byte[AcceptKey.Length];

    [Benchmark]
    public int ParseValidateAccept()
    {
        HttpRequestHead head = default;
        if (HttpRequestParser.TryParse(Request, 8192, ref head, out _) != OperationStatus.Done
            || HandshakeValidator.Validate(Request, head, out Slice key, out int status) != HandshakeKind.Upgrade)
        {
            throw new InvalidOperationException("the benchmark request must be a valid upgrade");
        }
        AcceptKey.Compute(key.Of(Request), _accept);
        return status + _accept[0];
    }

    [Benchmark]
    public int ParseOnly()
    {
        HttpRequestHead head = default;
        HttpRequestParser.TryParse(Request, 8192, ref head, out _);
        return head.HeaderCount;
    }

    [Benchmark]
    public int ParseValidate()
    {
        HttpRequestHead head = default;
        HttpRequestParser.TryParse(Request, 8192, ref head, out _);
        return (int)HandshakeValidator.Validate(Request, head, out _, out int status) + status;
    }

    /// <summary>SHA-1 and base64 alone (SHA1.HashData goes through the platform's crypto library).</summary>
    [Benchmark]
    public int AcceptKeyOnly()
    {
        AcceptKey.Compute("dGhlIHNhbXBsZSBub25jZQ=="u8, _accept);
        return _accept[0];
    }
}

internal static class QueueDrain
{
    /// <summary>Plays the transport: takes every pending segment as sent. Returns the bytes "sent".</summary>
    public static int Drain(Engine.Transports.SendQueue queue)
    {
        int sent = 0;
        while (queue.TryBeginSend())
        {
            do
            {
                int total = 0;
                foreach (Engine.Transports.SendSegment segment in queue.GetInFlight())
                {
                    total += segment.Count;
                }
                queue.OnSent(total);
                sent += total;
            }
            while (queue.TryContinueSend());
        }
        return sent;
    }
}
