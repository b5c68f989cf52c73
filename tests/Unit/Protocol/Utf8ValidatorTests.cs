using System.Text;
using System.Text.Unicode;
using Engine.Protocol;
using Engine.Tests.Support;

namespace Engine.Tests.Unit.Protocol;

public class Utf8ValidatorTests
{
    // Every proper prefix (1 to 3 bytes) of a valid multi-byte sequence: the reference for "can still become valid".
    private static readonly HashSet<int> ValidSequencePrefixes = BuildPrefixes();

    private static HashSet<int> BuildPrefixes()
    {
        var prefixes = new HashSet<int>();
        Span<byte> encoded = stackalloc byte[4];
        for (int value = 0x80; value <= 0x10FFFF; value++)
        {
            if (value is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }
            int length = new Rune(value).EncodeToUtf8(encoded);
            for (int k = 1; k < length; k++)
            {
                prefixes.Add(Pack(encoded.Slice(0, k)));
            }
        }
        return prefixes;
    }

    private static int Pack(ReadOnlySpan<byte> bytes)
    {
        int value = bytes.Length;
        foreach (byte b in bytes)
        {
            value = (value << 8) | b;
        }
        return value;
    }

    /// <summary>Reference: whether <paramref name="prefix"/> is valid UTF-8 followed by at most an incomplete (but completable) sequence.</summary>
    private static bool IsValidPrefix(ReadOnlySpan<byte> prefix)
    {
        if (Utf8.IsValid(prefix))
        {
            return true;
        }
        for (int k = 1; k <= 3 && k <= prefix.Length; k++)
        {
            if (ValidSequencePrefixes.Contains(Pack(prefix.Slice(prefix.Length - k))) && Utf8.IsValid(prefix.Slice(0, prefix.Length - k)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Feeds the pieces; returns the index of the piece Append refused (-1 if none) and the verdict for the whole message.</summary>
    private static (int FailedAt, bool Valid) Run(byte[][] pieces)
    {
        var validator = new Utf8Validator();
        for (int i = 0; i < pieces.Length; i++)
        {
            if (!validator.Append(pieces[i]))
            {
                return (i, false);
            }
        }
        return (-1, validator.IsComplete);
    }

    /// <summary>The piece at which the reference says the bytes so far stop being a prefix of valid UTF-8, or -1.</summary>
    private static int ExpectedFailure(byte[][] pieces)
    {
        var seen = new List<byte>();
        for (int i = 0; i < pieces.Length; i++)
        {
            seen.AddRange(pieces[i]);
            if (!IsValidPrefix(seen.ToArray()))
            {
                return i;
            }
        }
        return -1;
    }

    private static void AssertAgreesWithReference(byte[] input, byte[][] pieces)
    {
        (int failedAt, bool valid) = Run(pieces);
        Assert.True(Utf8.IsValid(input) == valid, $"verdict {valid} for {Convert.ToHexString(input)} in {pieces.Length} pieces");
        Assert.True(ExpectedFailure(pieces) == failedAt,
            $"failed at piece {failedAt}, expected {ExpectedFailure(pieces)}: {string.Join(" | ", pieces.Select(Convert.ToHexString))}");
    }

    private static byte[] RandomInput(Random random)
    {
        var bytes = new List<byte>();
        int items = random.Next(0, 24);
        Span<byte> encoded = stackalloc byte[4];
        byte[] edgeBytes = [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFF, 0xA0, 0x9F, 0x90, 0x8F];
        for (int i = 0; i < items; i++)
        {
            int kind = random.Next(100);
            if (kind < 40)
            {
                bytes.Add((byte)random.Next(0x00, 0x80));
            }
            else if (kind < 85)
            {
                int value;
                do
                {
                    value = random.Next(4) switch
                    {
                        0 => random.Next(0x80, 0x800),
                        1 => random.Next(0x800, 0x10000),
                        2 => random.Next(0x10000, 0x110000),
                        _ => random.Next(0xD7F0, 0xE010),
                    };
                }
                while (value is >= 0xD800 and <= 0xDFFF);
                int length = new Rune(value).EncodeToUtf8(encoded);
                // Now and then a sequence is cut short.
                int keep = random.Next(10) == 0 ? random.Next(1, length) : length;
                for (int k = 0; k < keep; k++)
                {
                    bytes.Add(encoded[k]);
                }
            }
            else if (kind < 95)
            {
                bytes.Add(edgeBytes[random.Next(edgeBytes.Length)]);
            }
            else
            {
                bytes.Add((byte)random.Next(256));
            }
        }
        return [.. bytes];
    }

    [Fact]
    public void Agrees_with_Utf8_IsValid_on_random_inputs_split_at_every_offset()
    {
        var random = new Random(6455);
        int validCount = 0;
        for (int round = 0; round < 2500; round++)
        {
            byte[] input = RandomInput(random);
            validCount += Utf8.IsValid(input) ? 1 : 0;
            AssertAgreesWithReference(input, [input]);
            foreach (byte[][] pieces in Bytes.SplitsInTwo(input))
            {
                AssertAgreesWithReference(input, pieces);
            }
            AssertAgreesWithReference(input, Bytes.OneBytePieces(input));
            for (int r = 0; r < 4; r++)
            {
                AssertAgreesWithReference(input, Bytes.RandomPieces(input, random, 5));
            }
        }
        // The generator must produce both outcomes in quantity, or the test proves little.
        Assert.InRange(validCount, 500, 2000);
    }

    [Fact]
    public void Agrees_with_Utf8_IsValid_on_long_inputs_in_random_pieces()
    {
        var random = new Random(1);
        for (int round = 0; round < 200; round++)
        {
            var builder = new List<byte>();
            for (int i = 0; i < 10; i++)
            {
                builder.AddRange(RandomInput(random));
            }
            // Valid text with one possible defect somewhere in a long run, across vector-sized chunks.
            byte[] input = round % 2 == 0
                ? Bytes.Utf8(string.Concat(Enumerable.Repeat("héllo wörld κόσμε 😀 ", 20)) + (round % 4 == 0 ? "" : "\uFFFD"))
                : [.. builder];
            if (round % 8 == 2)
            {
                input[random.Next(input.Length)] = 0xFF;
            }
            AssertAgreesWithReference(input, [input]);
            for (int r = 0; r < 10; r++)
            {
                AssertAgreesWithReference(input, Bytes.RandomPieces(input, random, 40));
            }
        }
    }

    // input hex, valid as a whole message
    [Theory]
    [InlineData("", true)]
    [InlineData("48 65 6C 6C 6F", true)]
    [InlineData("CE BA E1 BD B9 CF 83 CE BC CE B5", true)] // κόσμε
    [InlineData("C2 80", true)]
    [InlineData("DF BF", true)]
    [InlineData("E0 A0 80", true)]
    [InlineData("ED 9F BF", true)] // U+D7FF, last before the surrogates
    [InlineData("EE 80 80", true)] // U+E000, first after them
    [InlineData("EF BF BF", true)]
    [InlineData("F0 90 80 80", true)]
    [InlineData("F4 8F BF BF", true)] // U+10FFFF
    [InlineData("C0 80", false)] // overlong NUL
    [InlineData("C1 BF", false)] // overlong
    [InlineData("E0 80 80", false)] // overlong
    [InlineData("E0 9F BF", false)] // overlong
    [InlineData("F0 80 80 80", false)] // overlong
    [InlineData("F0 8F BF BF", false)] // overlong
    [InlineData("ED A0 80", false)] // U+D800 surrogate
    [InlineData("ED BF BF", false)] // U+DFFF surrogate
    [InlineData("ED A0 80 ED B0 80", false)] // surrogate pair, CESU-8
    [InlineData("F4 90 80 80", false)] // U+110000
    [InlineData("F5 80 80 80", false)]
    [InlineData("F8 88 80 80 80", false)]
    [InlineData("FC 84 80 80 80 80", false)]
    [InlineData("FE", false)]
    [InlineData("FF", false)]
    [InlineData("80", false)]
    [InlineData("BF", false)]
    [InlineData("C2", false)] // truncated at the end of the message
    [InlineData("E2 82", false)]
    [InlineData("F0 9F 98", false)]
    [InlineData("41 E2 82 41", false)]
    [InlineData("C2 41", false)]
    [InlineData("E2 82 AC", true)] // €
    [InlineData("F0 9F 98 80", true)] // 😀
    public void Edge_inputs_split_at_every_offset(string hex, bool valid)
    {
        byte[] input = Bytes.Hex(hex);
        Assert.Equal(valid, Utf8.IsValid(input)); // the vector itself is right
        Assert.Equal(valid, Run([input]).Valid);
        foreach (byte[][] pieces in Bytes.SplitsInTwo(input))
        {
            Assert.Equal(valid, Run(pieces).Valid);
            AssertAgreesWithReference(input, pieces);
        }
        Assert.Equal(valid, Run(Bytes.OneBytePieces(input)).Valid);
        AssertAgreesWithReference(input, Bytes.OneBytePieces(input));
    }

    public static TheoryData<string[], int> FailFastCases => new()
    {
        // Autobahn 6.4.1/6.4.3: the middle piece is the invalid code point; it must fail there, before "edited" arrives.
        { ["κόσμε", "F4 90 80 80", "edited"], 1 },
        // Autobahn 6.4.2/6.4.4: the bad code point is split over all three pieces; F4 alone is still a valid prefix, F4 90 is not.
        { ["κόσμε F4", "90", "80 80 edited"], 1 },
        // The brief's variant: a surrogate in the middle.
        { ["κόσμε", "ED A0 80", "edited"], 1 },
        { ["κόσμε ED", "A0", "80 edited"], 1 },
        { ["κόσμε ED", "9F BF", "edited"], -1 },
        { ["κόσμε E0", "80", "80"], 1 },
        { ["C0", "80"], 0 },
        { ["F0", "80 80 80"], 1 },
        { ["F0 90", "80", "41"], 2 },
        { ["41 42", "80"], 1 },
        { ["E2", "", "82", "", "AC", "41"], -1 },
        { ["E2 82 AC", "FF", "41"], 1 },
    };

    [Theory]
    [MemberData(nameof(FailFastCases))]
    public void Fails_at_the_piece_that_makes_the_prefix_invalid(string[] spec, int expectedPiece)
    {
        byte[][] pieces = spec.Select(Piece).ToArray();
        Assert.Equal(expectedPiece, Run(pieces).FailedAt);
        Assert.Equal(expectedPiece, ExpectedFailure(pieces));
    }

    // "κόσμε F4" = the text then hex bytes; a piece is either text or hex.
    private static byte[] Piece(string spec)
    {
        if (spec.StartsWith("κόσμε", StringComparison.Ordinal))
        {
            return Bytes.Concat(Bytes.Utf8("κόσμε"), Bytes.Hex(spec["κόσμε".Length..]));
        }
        if (spec.Contains("edited", StringComparison.Ordinal))
        {
            return Bytes.Concat(Bytes.Hex(spec.Replace("edited", "", StringComparison.Ordinal)), Bytes.Utf8("edited"));
        }
        return Bytes.Hex(spec);
    }

    [Fact]
    public void Reset_forgets_a_pending_sequence()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.Append(Bytes.Hex("E2 82")));
        Assert.False(validator.IsComplete);
        validator.Reset();
        Assert.True(validator.IsComplete);
        Assert.True(validator.Append("abc"u8));
        Assert.True(validator.IsComplete);
    }
}
