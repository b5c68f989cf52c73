using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Buffers;

namespace Engine.Transports;

/// <summary>
/// The bytes a connection received but could not consume yet (a partial frame header, the first bytes of a request
/// head), kept between reads. Usually a few bytes, so they wait in a small shared-pool array rather than a 16 KiB block
/// per waiting connection (5,000 slowloris peers would otherwise hold 80 MiB). Copied in front of the next read's
/// bytes, so it need not be pinned. Shared by every transport: the Linux loops and the portable
/// <see cref="DuplexConnection"/>.
/// </summary>
/// <remarks>
/// A connection keeps them in one array field of its own, null while nothing is kept (memory per idle connection: every
/// connection has one, almost always empty; a field of reference type, not a struct around it, which the runtime would
/// place after the connection's integers and pad). The array says itself how many bytes it keeps and where it came
/// from, in a 4-byte prefix: the length, with the top bit set when the array is a block of the connection's pool.
/// </remarks>
internal static class ReceiveSpill
{
    /// <summary>Leftovers up to this size go into a shared-pool array; larger ones into a pooled block.</summary>
    private const int SmallSpill = 2048;

    private const int Prefix = sizeof(int);
    private const int FromBlock = int.MinValue;

    /// <summary>The bytes <paramref name="kept"/> holds (none for null).</summary>
    public static ReadOnlySpan<byte> Bytes(byte[]? kept) => kept is null ? default : kept.AsSpan(Prefix, Header(kept) & ~FromBlock);

    /// <summary>Keeps <paramref name="rest"/> in <paramref name="kept"/>, which holds nothing before.</summary>
    public static void Keep(ref byte[]? kept, ReadOnlySpan<byte> rest, BlockPool pool)
    {
        if (rest.IsEmpty)
        {
            return;
        }
        // A block takes what a small array does not, up to its room after the prefix; a longer rest (a request head
        // near a limit as large as a block) takes a shared-pool array of its own.
        bool block = rest.Length > SmallSpill && rest.Length <= pool.BlockSize - Prefix;
        byte[] array = block ? pool.Rent() : ArrayPool<byte>.Shared.Rent(Prefix + rest.Length);
        Unsafe.WriteUnaligned(ref MemoryMarshal.GetArrayDataReference(array), rest.Length | (block ? FromBlock : 0));
        rest.CopyTo(array.AsSpan(Prefix));
        kept = array;
    }

    /// <summary>Gives the array of <paramref name="kept"/> back to where it came from; null after.</summary>
    public static void Release(ref byte[]? kept, BlockPool pool)
    {
        if (kept is not { } array)
        {
            return;
        }
        kept = null;
        if ((Header(array) & FromBlock) != 0)
        {
            pool.Return(array);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private static int Header(byte[] array) => Unsafe.ReadUnaligned<int>(ref MemoryMarshal.GetArrayDataReference(array));
}
