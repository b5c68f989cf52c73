namespace Engine.Buffers;

/// <summary>
/// Bytes written once and referenced by many send queues (pub/sub fan-out: a message framed once for every
/// subscriber). Reference-counted: every queue that holds it releases it once sent or dropped; the last release
/// returns the array and this holder to their <see cref="SharedBufferPool"/>, which hands the holder out again, so a
/// reference must not be used after its release. Knows nothing of what the bytes are.
/// </summary>
internal sealed class SharedBuffer
{
    private readonly SharedBufferPool _pool;
    private byte[] _array = [];
    private int _references;

    internal SharedBuffer(SharedBufferPool pool) => _pool = pool;

    public byte[] Array => _array;

    public int Length { get; private set; }

    /// <summary>The written bytes; filled by the creator before the buffer is shared.</summary>
    public Span<byte> Span => _array.AsSpan(0, Length);

    /// <summary>Whether <see cref="Array"/> is a pinned pool block (the Linux transports gather those without pinning).</summary>
    public bool IsPinned { get; private set; }

    /// <summary>Taken from the pool: new bytes, one reference (the renter's).</summary>
    internal void Reset(byte[] array, int length, bool pinned)
    {
        System.Diagnostics.Debug.Assert(Volatile.Read(ref _references) == 0, "SharedBuffer rented while referenced");
        _array = array;
        Length = length;
        IsPinned = pinned;
        Volatile.Write(ref _references, 1);
    }

    /// <summary>Another holder (a send queue); only a holder of a reference may add one.</summary>
    public void AddReference()
    {
        int now = Interlocked.Increment(ref _references);
        System.Diagnostics.Debug.Assert(now > 1, "SharedBuffer referenced after its last release");
    }

    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        // A release past zero would hand the holder out twice: caught here in debug builds (an idle holder sits at zero),
        // and never returned twice in release builds (only the release that reaches zero returns it).
        System.Diagnostics.Debug.Assert(left >= 0, "SharedBuffer released too often");
        if (left == 0)
        {
            byte[] array = _array;
            _array = [];
            _pool.Return(this, array, IsPinned);
        }
    }
}
