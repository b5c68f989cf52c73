using System.Buffers;

namespace Engine.Fuzz;

/// <summary>An <see cref="ArrayPool{T}"/> that counts rentals, so a run can prove every message buffer went back.</summary>
internal sealed class CountingArrayPool : ArrayPool<byte>
{
    private readonly HashSet<byte[]> _rented = new(ReferenceEqualityComparer.Instance);

    public int Outstanding => _rented.Count;

    public override byte[] Rent(int minimumLength)
    {
        FuzzInvariantException.Check(minimumLength >= 0, $"negative rent {minimumLength}");
        byte[] array = Shared.Rent(minimumLength);
        FuzzInvariantException.Check(_rented.Add(array), "the same array rented twice");
        return array;
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        FuzzInvariantException.Check(_rented.Remove(array), "an array returned twice or never rented");
        Shared.Return(array, clearArray);
    }
}
