using System.Globalization;
using System.Text;

namespace Engine.Tests.Support;

/// <summary>Byte vectors for table-driven tests: hex strings ("81 05 48"), UTF-8 text, concatenation, splits.</summary>
internal static class Bytes
{
    /// <summary>Parses space-separated (or packed) hex pairs.</summary>
    public static byte[] Hex(string hex)
    {
        string packed = hex.Replace(" ", "", StringComparison.Ordinal);
        byte[] result = new byte[packed.Length / 2];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = byte.Parse(packed.AsSpan(2 * i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        return result;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] Concat(params byte[][] parts)
    {
        byte[] result = new byte[parts.Sum(p => p.Length)];
        int offset = 0;
        foreach (byte[] part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        return result;
    }

    /// <summary>The input as two pieces, for every split point 0..Length (the house rule: every input also fed split at every byte offset).</summary>
    public static IEnumerable<byte[][]> SplitsInTwo(byte[] input)
    {
        for (int k = 0; k <= input.Length; k++)
        {
            yield return [input[..k], input[k..]];
        }
    }

    /// <summary>The input cut into random pieces (empty pieces included) of at most <paramref name="maxPiece"/> bytes.</summary>
    public static byte[][] RandomPieces(byte[] input, Random random, int maxPiece)
    {
        var pieces = new List<byte[]>();
        int offset = 0;
        while (offset < input.Length)
        {
            int length = Math.Min(random.Next(0, maxPiece + 1), input.Length - offset);
            pieces.Add(input[offset..(offset + length)]);
            offset += length;
        }
        return [.. pieces];
    }

    public static byte[][] OneBytePieces(byte[] input) => input.Select(b => new[] { b }).ToArray();
}
