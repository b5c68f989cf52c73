using System.Buffers;
using Engine.Buffers;

namespace Engine.Transports;

/// <summary>
/// The bytes a connection received but could not consume yet (a partial frame header, the first bytes of a request
/// head), kept between reads. Usually a few bytes, so they wait in a small shared-pool array rather than a 16 KiB block
/// per waiting connection (5,000 slowloris peers would otherwise hold 80 MiB). Copied in front of the next read's
/// bytes, so it need not be pinned. Shared by every transport: the Linux loops and the portable
/// <see cref="DuplexConnection"/>.
/// </summary>
internal struct ReceiveSpill
{
    /// <summary>Leftovers up to this size go into a shared-pool array; larger ones into a pooled block.</summary>
    private const int SmallSpill = 2048;

    private byte[]? _array;
    private int _length;
    private bool _isBlock;

    public readonly bool IsEmpty => _array is null;

    public readonly ReadOnlySpan<byte> Bytes => _array.AsSpan(0, _length);

    public void Keep(ReadOnlySpan<byte> rest, BlockPool pool)
    {
        if (rest.IsEmpty)
        {
            return;
        }
        _isBlock = rest.Length > SmallSpill;
        _array = _isBlock ? pool.Rent() : ArrayPool<byte>.Shared.Rent(rest.Length);
        rest.CopyTo(_array);
        _length = rest.Length;
    }

    public void Release(BlockPool pool)
    {
        if (_array is null)
        {
            return;
        }
        if (_isBlock)
        {
            pool.Return(_array);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(_array);
        }
        _array = null;
        _length = 0;
    }
}
