using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Engine.Protocol;

/// <summary>RFC 6455 §5.3 masking: XOR with a 4-byte key, vectorized. The same operation masks and unmasks.</summary>
internal static class Masking
{
    /// <summary>
    /// XORs <paramref name="data"/> in place with <paramref name="maskKey"/> (wire byte order, read as a
    /// little-endian uint), where <paramref name="maskOffset"/> is the key position of <c>data[0]</c>
    /// (a frame's payload may arrive in several pieces). Returns the key position of the byte after <paramref name="data"/>.
    /// </summary>
    public static int Apply(Span<byte> data, uint maskKey, int maskOffset)
    {
        int length = data.Length;
        if (length == 0)
        {
            return maskOffset;
        }
        // Rotate so that key byte (i & 3) applies to data[i]; every vector step below is a multiple of 4 bytes.
        uint key = BitOperations.RotateRight(maskKey, (maskOffset & 3) * 8);
        ref byte start = ref MemoryMarshal.GetReference(data);
        nuint i = 0;
        nuint n = (nuint)length;

        if (Vector256.IsHardwareAccelerated && n >= (nuint)Vector256<byte>.Count)
        {
            Vector256<byte> k = Vector256.Create(key).AsByte();
            nuint last = n - (nuint)Vector256<byte>.Count;
            for (; i <= last; i += (nuint)Vector256<byte>.Count)
            {
                (Vector256.LoadUnsafe(ref start, i) ^ k).StoreUnsafe(ref start, i);
            }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= (nuint)Vector128<byte>.Count)
        {
            Vector128<byte> k = Vector128.Create(key).AsByte();
            nuint last = n - (nuint)Vector128<byte>.Count;
            for (; i <= last; i += (nuint)Vector128<byte>.Count)
            {
                (Vector128.LoadUnsafe(ref start, i) ^ k).StoreUnsafe(ref start, i);
            }
        }
        ulong key64 = key | ((ulong)key << 32);
        for (; i + 8 <= n; i += 8)
        {
            ref byte at = ref Unsafe.Add(ref start, i);
            Unsafe.WriteUnaligned(ref at, Unsafe.ReadUnaligned<ulong>(ref at) ^ key64);
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref start, i) ^= (byte)(key >> (int)((i & 3) * 8));
        }
        return (int)((uint)(maskOffset + length) & 3);
    }
}
