using Engine.Protocol;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Protocol;

public class MaskingTests
{
    private const uint Key = 0xC3D2E1F0;

    public static TheoryData<int> Lengths()
    {
        var data = new TheoryData<int>();
        for (int length = 0; length <= 300; length++)
        {
            data.Add(length);
        }
        data.Add(65536);
        data.Add(65536 + 7);
        return data;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Matches_the_scalar_reference_for_every_length_and_key_offset(int length)
    {
        var random = new Random(length);
        byte[] original = new byte[length + 3];
        random.NextBytes(original);
        for (int offset = 0; offset < 4; offset++)
        {
            // The span also starts at 0..3 bytes into the array, so the vector loads are unaligned in every way.
            for (int start = 0; start < 4 && start + length <= original.Length; start++)
            {
                byte[] expected = (byte[])original.Clone();
                int expectedNext = ClientFrames.ScalarMask(expected.AsSpan(start, length), Key, offset);
                byte[] actual = (byte[])original.Clone();
                int next = Masking.Apply(actual.AsSpan(start, length), Key, offset);
                Assert.Equal(expectedNext, next);
                Assert.Equal(expected, actual);
            }
        }
    }

    [Theory]
    [InlineData(37)]
    [InlineData(64)]
    [InlineData(131)]
    public void Applying_in_pieces_with_the_returned_offset_equals_applying_whole(int length)
    {
        var random = new Random(42);
        byte[] original = new byte[length];
        random.NextBytes(original);
        byte[] whole = (byte[])original.Clone();
        Masking.Apply(whole, Key, 0);

        for (int first = 0; first <= length; first++)
        {
            for (int second = first; second <= length; second += 5)
            {
                byte[] pieces = (byte[])original.Clone();
                int offset = Masking.Apply(pieces.AsSpan(0, first), Key, 0);
                offset = Masking.Apply(pieces.AsSpan(first, second - first), Key, offset);
                offset = Masking.Apply(pieces.AsSpan(second), Key, offset);
                Assert.Equal(length & 3, offset);
                Assert.Equal(whole, pieces);
            }
        }
    }

    [Fact]
    public void Applying_a_64_KiB_payload_in_random_pieces_equals_applying_whole()
    {
        var random = new Random(6455);
        byte[] original = new byte[65536];
        random.NextBytes(original);
        byte[] whole = (byte[])original.Clone();
        Masking.Apply(whole, Key, 0);
        for (int round = 0; round < 20; round++)
        {
            byte[] pieces = (byte[])original.Clone();
            int position = 0;
            int offset = 0;
            while (position < pieces.Length)
            {
                int take = Math.Min(random.Next(0, 5000), pieces.Length - position);
                offset = Masking.Apply(pieces.AsSpan(position, take), Key, offset);
                position += take;
            }
            Assert.Equal(whole, pieces);
        }
    }

    [Fact]
    public void Masking_twice_restores_the_data_and_the_rfc_example_unmasks()
    {
        byte[] payload = Bytes.Hex("7F 9F 4D 51 58");
        Masking.Apply(payload, ClientFrames.DefaultKey, 0);
        Assert.Equal("Hello"u8.ToArray(), payload);
        Masking.Apply(payload, ClientFrames.DefaultKey, 0);
        Assert.Equal(Bytes.Hex("7F 9F 4D 51 58"), payload);
    }

    [Fact]
    public void An_empty_span_keeps_the_offset()
    {
        for (int offset = 0; offset < 4; offset++)
        {
            Assert.Equal(offset, Masking.Apply([], Key, offset));
        }
    }
}
