using System.Buffers;
using Engine.Protocol;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Protocol;

public class FrameReaderTests
{
    // header hex, fin, rsv, opcode, masked, payload length, header length, mask key (wire bytes read little-endian)
    [Theory]
    [InlineData("81 00", true, 0, 0x1, false, 0L, 2, 0u)]
    [InlineData("81 05", true, 0, 0x1, false, 5L, 2, 0u)]
    [InlineData("82 7D", true, 0, 0x2, false, 125L, 2, 0u)]
    [InlineData("82 7E 00 7E", true, 0, 0x2, false, 126L, 4, 0u)]
    [InlineData("82 7E FF FF", true, 0, 0x2, false, 65535L, 4, 0u)]
    [InlineData("82 7F 00 00 00 00 00 01 00 00", true, 0, 0x2, false, 65536L, 10, 0u)]
    [InlineData("82 7F 00 00 00 01 00 00 00 00", true, 0, 0x2, false, 4294967296L, 10, 0u)]
    [InlineData("82 7F 7F FF FF FF FF FF FF FF", true, 0, 0x2, false, long.MaxValue, 10, 0u)]
    [InlineData("81 80 01 02 03 04", true, 0, 0x1, true, 0L, 6, 0x04030201u)]
    [InlineData("81 85 37 FA 21 3D", true, 0, 0x1, true, 5L, 6, 0x3D21FA37u)]
    [InlineData("82 FD 00 00 00 00", true, 0, 0x2, true, 125L, 6, 0u)]
    [InlineData("82 FE 00 7E AA BB CC DD", true, 0, 0x2, true, 126L, 8, 0xDDCCBBAAu)]
    [InlineData("82 FE FF FF AA BB CC DD", true, 0, 0x2, true, 65535L, 8, 0xDDCCBBAAu)]
    [InlineData("82 FF 00 00 00 00 00 01 00 00 AA BB CC DD", true, 0, 0x2, true, 65536L, 14, 0xDDCCBBAAu)]
    [InlineData("82 FF 00 00 00 01 00 00 00 00 AA BB CC DD", true, 0, 0x2, true, 4294967296L, 14, 0xDDCCBBAAu)]
    [InlineData("01 03", false, 0, 0x1, false, 3L, 2, 0u)]
    [InlineData("00 80 00 00 00 00", false, 0, 0x0, true, 0L, 6, 0u)]
    [InlineData("F2 00", true, 7, 0x2, false, 0L, 2, 0u)]
    [InlineData("C1 00", true, 4, 0x1, false, 0L, 2, 0u)]
    [InlineData("A1 00", true, 2, 0x1, false, 0L, 2, 0u)]
    [InlineData("91 00", true, 1, 0x1, false, 0L, 2, 0u)]
    [InlineData("89 80 01 02 03 04", true, 0, 0x9, true, 0L, 6, 0x04030201u)]
    [InlineData("88 82 00 00 00 00", true, 0, 0x8, true, 2L, 6, 0u)]
    [InlineData("8F 00", true, 0, 0xF, false, 0L, 2, 0u)]
    public void Reads_every_length_encoding(string hex, bool fin, int rsv, int opCode, bool masked, long length, int headerLength, uint maskKey)
    {
        byte[] header = Bytes.Hex(hex);
        Assert.Equal(headerLength, header.Length);

        // The header alone, then with payload bytes behind it: the header is consumed, nothing more.
        foreach (byte[] input in new[] { header, Bytes.Concat(header, Bytes.Hex("AA BB CC DD EE FF 00 11 22 33 44 55 66 77 88")) })
        {
            Assert.Equal(OperationStatus.Done, FrameReader.TryReadHeader(input, out FrameHeader h, out int consumed));
            Assert.Equal(headerLength, consumed);
            Assert.Equal(headerLength, h.HeaderLength);
            Assert.Equal(fin, h.Fin);
            Assert.Equal(rsv, h.Rsv);
            Assert.Equal((Opcode)opCode, h.Opcode);
            Assert.Equal(masked, h.Masked);
            Assert.Equal(length, h.PayloadLength);
            Assert.Equal(maskKey, h.MaskKey);
        }

        // Every truncation point: not enough bytes yet, nothing consumed.
        for (int k = 0; k < header.Length; k++)
        {
            Assert.Equal(OperationStatus.NeedMoreData, FrameReader.TryReadHeader(header.AsSpan(0, k), out _, out int consumed));
            Assert.Equal(0, consumed);
        }
    }

    [Theory]
    [InlineData("82 7F 80 00 00 00 00 00 00 00")]
    [InlineData("82 7F FF FF FF FF FF FF FF FF")]
    [InlineData("82 FF 80 00 00 00 00 00 00 05 01 02 03 04")]
    public void Rejects_a_64_bit_length_with_the_top_bit_set(string hex)
    {
        byte[] header = Bytes.Hex(hex);
        Assert.Equal(OperationStatus.InvalidData, FrameReader.TryReadHeader(header, out _, out int consumed));
        Assert.Equal(0, consumed);
        for (int k = 0; k < header.Length; k++)
        {
            Assert.Equal(OperationStatus.NeedMoreData, FrameReader.TryReadHeader(header.AsSpan(0, k), out _, out _));
        }
    }

    [Fact]
    public void Reads_the_rfc_6455_masked_hello_example()
    {
        // RFC 6455 §5.7: a single-frame masked text message containing "Hello".
        byte[] frame = Bytes.Hex("81 85 37 FA 21 3D 7F 9F 4D 51 58");
        Assert.Equal(OperationStatus.Done, FrameReader.TryReadHeader(frame, out FrameHeader header, out int consumed));
        Span<byte> payload = frame.AsSpan(consumed, (int)header.PayloadLength);
        Masking.Apply(payload, header.MaskKey, 0);
        Assert.Equal("Hello"u8.ToArray(), payload.ToArray());
    }
}

public class FrameWriterTests
{
    [Theory]
    [InlineData(0x1, true, 5L, "81 05")]
    [InlineData(0x1, true, 0L, "81 00")]
    [InlineData(0x2, true, 125L, "82 7D")]
    [InlineData(0x2, true, 126L, "82 7E 00 7E")]
    [InlineData(0x2, true, 65535L, "82 7E FF FF")]
    [InlineData(0x2, true, 65536L, "82 7F 00 00 00 00 00 01 00 00")]
    [InlineData(0x2, false, 4294967296L, "02 7F 00 00 00 01 00 00 00 00")]
    [InlineData(0x0, true, 3L, "80 03")]
    [InlineData(0x8, true, 2L, "88 02")]
    [InlineData(0xA, true, 4L, "8A 04")]
    public void Writes_server_headers(int opCode, bool fin, long length, string expectedHex)
    {
        byte[] expected = Bytes.Hex(expectedHex);
        Span<byte> buffer = stackalloc byte[FrameReader.MaxHeaderLength];
        Assert.Equal(expected.Length, FrameWriter.HeaderLength(length, masked: false));
        int written = FrameWriter.WriteHeader(buffer, (Opcode)opCode, fin, length);
        Assert.Equal(expected, buffer.Slice(0, written).ToArray());
    }

    [Fact]
    public void Writes_the_rfc_6455_masked_header()
    {
        Span<byte> buffer = stackalloc byte[FrameReader.MaxHeaderLength];
        int written = FrameWriter.WriteMaskedHeader(buffer, Opcode.Text, fin: true, 5, ClientFrames.DefaultKey);
        Assert.Equal(Bytes.Hex("81 85 37 FA 21 3D"), buffer.Slice(0, written).ToArray());
    }

    public static TheoryData<long> Lengths => [0L, 1L, 125L, 126L, 127L, 65535L, 65536L, 1L << 32, long.MaxValue];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Round_trips_through_the_reader(long length)
    {
        Span<byte> buffer = stackalloc byte[FrameReader.MaxHeaderLength];
        foreach (Opcode opCode in new[] { Opcode.Continuation, Opcode.Text, Opcode.Binary, Opcode.Close, Opcode.Ping, Opcode.Pong })
        {
            foreach (bool fin in new[] { true, false })
            {
                foreach (bool masked in new[] { true, false })
                {
                    for (byte rsv = 0; rsv < 8; rsv++)
                    {
                        uint key = 0xA1B2C3D4u ^ rsv;
                        int written = masked
                            ? FrameWriter.WriteMaskedHeader(buffer, opCode, fin, length, key, rsv)
                            : FrameWriter.WriteHeader(buffer, opCode, fin, length, rsv);
                        Assert.Equal(FrameWriter.HeaderLength(length, masked), written);
                        Assert.Equal(OperationStatus.Done, FrameReader.TryReadHeader(buffer.Slice(0, written), out FrameHeader h, out int consumed));
                        Assert.Equal(written, consumed);
                        Assert.Equal(opCode, h.Opcode);
                        Assert.Equal(fin, h.Fin);
                        Assert.Equal(masked, h.Masked);
                        Assert.Equal(rsv, h.Rsv);
                        Assert.Equal(length, h.PayloadLength);
                        Assert.Equal(masked ? key : 0u, h.MaskKey);
                    }
                }
            }
        }
    }
}
