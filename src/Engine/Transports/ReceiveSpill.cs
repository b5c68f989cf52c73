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
/// One reference and nothing else (memory per idle connection: every connection holds one, almost always empty). The
/// array says itself how many bytes it keeps and where it came from, in a 4-byte prefix: the length, with the top bit
/// set when the array is a block of the connection's pool.
/// </remarks>
internal struct ReceiveSpill
{
    /// <summary>Leftovers up to this size go into a shared-pool array; larger ones into a pooled block.</summary>
    private const int SmallSpill = 2048;

    private const int Prefix = sizeof(int);
    private const int FromBlock = int.MinValue;

    private byte[]? _array;

    public readonly bool IsEmpty => _array is null;

    public readonly ReadOnlySpan<byte> Bytes => _array is { } array ? array.AsSpan(Prefix, Header(array) & ~FromBlock) : default;

    public void Keep(ReadOnlySpan<byte> rest, BlockPool pool)
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
        _array = array;
    }

    public void Release(BlockPool pool)
    {
        if (_array is not { } array)
        {
            return;
        }
        _array = null;
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
