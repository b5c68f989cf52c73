using System.Buffers;
using System.Text;
using Engine.Compression;

namespace Engine.Tests.Unit.Compression;

/// <summary>The zlib wrappers: round trips at every window size, the 8-bit window really kept, bombs stopped by the caller's space.</summary>
public sealed unsafe class DeflaterTests
{
    private static byte[] Text(int length, int seed)
    {
        var random = new Random(seed);
        var builder = new StringBuilder();
        string[] words = ["alpha", "beta", "gamma", "delta", "epsilon", "{\"type\":\"message\"}", "zeta", "channel", "content"];
        while (builder.Length < length)
        {
            builder.Append(words[random.Next(words.Length)]).Append(' ');
        }
        return Encoding.ASCII.GetBytes(builder.ToString(0, length));
    }

    private static byte[] Compress(Deflater deflater, byte[] input, bool reset)
    {
        byte[] output = new byte[Deflater.MaxOutputLength(input.Length)];
        int length = deflater.Compress(input, output, reset);
        return output.AsSpan(0, length).ToArray();
    }

    private static byte[] Inflate(Inflater inflater, byte[] compressed, int piece = int.MaxValue)
    {
        var result = new List<byte>();
        byte[] output = new byte[1000];
        byte[] input = [.. compressed, .. Inflater.FlushTail];
        int offset = 0;
        while (true)
        {
            ReadOnlySpan<byte> slice = input.AsSpan(offset, Math.Min(piece, input.Length - offset));
            OperationStatus status = inflater.Inflate(slice, output, out int consumed, out int written);
            Assert.NotEqual(OperationStatus.InvalidData, status);
            result.AddRange(output.AsSpan(0, written).ToArray());
            offset += consumed;
            if (offset == input.Length && status == OperationStatus.Done)
            {
                return result.ToArray();
            }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(12)]
    [InlineData(15)]
    public void Round_trips_with_and_without_context_takeover(int windowBits)
    {
        using var deflater = new Deflater(windowBits, memoryLevel: 8, level: 6);
        using var inflater = new Inflater(windowBits);
        for (int i = 0; i < 10; i++)
        {
            byte[] message = Text(i * 3001 % 20_000, i);
            bool reset = i % 3 == 0;
            byte[] compressed = Compress(deflater, message, reset);
            Assert.Equal(message, Inflate(inflater, compressed, piece: 1 + i * 37));
            inflater.EndMessage(keepContext: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_empty_message_round_trips_after_another_with_the_context_kept_or_reset(bool reset)
    {
        // With context takeover an empty message leaves zlib nothing to flush after the previous sync flush; this used to
        // return a negative length (the tail strip of 4 bytes), and the send of an empty compressed message threw.
        using var deflater = new Deflater(15, memoryLevel: 8, level: 6);
        using var inflater = new Inflater(15);
        byte[] first = Text(500, 1);
        Assert.Equal(first, Inflate(inflater, Compress(deflater, first, reset)));
        inflater.EndMessage(keepContext: true);
        Assert.Empty(Inflate(inflater, Compress(deflater, [], reset)));
        inflater.EndMessage(keepContext: true);
        Assert.Equal(first, Inflate(inflater, Compress(deflater, first, reset)));
    }

    [Fact]
    public void An_8_bit_window_never_references_more_than_256_bytes_back()
    {
        // A strict 2^8 inflater (zlib accepts 8 for inflate) fails with "invalid distance too far back" otherwise.
        byte[] repeated = [.. Text(200, 1), .. Text(400, 2), .. Text(200, 1), .. Text(200, 1)];
        using var deflater = new Deflater(8, memoryLevel: 8, level: 9);
        byte[] compressed = Compress(deflater, repeated, reset: false);
        Assert.Equal(repeated, StrictInflate(compressed, 8));
        Assert.Equal(repeated, Inflate(new Inflater(15), compressed));
    }

    [Fact]
    public void A_context_reset_message_inflates_in_a_fresh_inflater()
    {
        using var deflater = new Deflater(15, memoryLevel: 8, level: 6);
        byte[] first = Text(5000, 1);
        Compress(deflater, first, reset: true);
        byte[] second = Compress(deflater, first, reset: true);
        using var fresh = new Inflater(15);
        Assert.Equal(first, Inflate(fresh, second)); // references nothing from the first message
    }

    [Fact]
    public void Inflating_stops_when_the_callers_space_runs_out()
    {
        using var deflater = new Deflater(15, memoryLevel: 8, level: 6);
        byte[] compressed = Compress(deflater, new byte[10 << 20], reset: true);
        Assert.True(compressed.Length < 20_000);
        using var inflater = new Inflater(15);
        byte[] output = new byte[4096];

        OperationStatus status = inflater.Inflate(compressed, output, out int consumed, out int written);

        Assert.Equal(OperationStatus.DestinationTooSmall, status);
        Assert.Equal(4096, written);
        Assert.True(consumed < compressed.Length);
    }

    [Fact]
    public void Invalid_data_is_reported_not_thrown()
    {
        using var inflater = new Inflater(15);
        Assert.Equal(OperationStatus.InvalidData, inflater.Inflate([0xFF, 0xFF, 0xFF], new byte[100], out _, out _));
        inflater.Reset();
        using var deflater = new Deflater(15, 8, 6);
        Assert.Equal("ok"u8.ToArray(), Inflate(inflater, Compress(deflater, "ok"u8.ToArray(), reset: true)));
    }

    private static byte[] StrictInflate(byte[] compressed, int windowBits)
    {
        var stream = new ZLibNative.ZStream();
        Assert.Equal(ZLibNative.Ok, ZLibNative.InflateInit2(&stream, -windowBits));
        try
        {
            byte[] input = [.. compressed, .. Inflater.FlushTail];
            byte[] output = new byte[1 << 20];
            fixed (byte* inPtr = input)
            fixed (byte* outPtr = output)
            {
                stream.NextIn = inPtr;
                stream.AvailIn = (uint)input.Length;
                stream.NextOut = outPtr;
                stream.AvailOut = (uint)output.Length;
                int status = ZLibNative.Inflate(&stream, ZLibNative.SyncFlush);
                Assert.Equal(ZLibNative.Ok, status);
                return output.AsSpan(0, output.Length - (int)stream.AvailOut).ToArray();
            }
        }
        finally
        {
            ZLibNative.InflateEnd(&stream);
        }
    }
}
