using System.Collections.Concurrent;

namespace Engine.Compression;

/// <summary>
/// A server's deflaters and inflaters. Connections without context takeover borrow one per message and give it back,
/// so an idle connection holds no zlib state and the number of live compressors follows the concurrency, not the
/// connection count. Also caps how many compressions run at once: past the cap a message is sent uncompressed
/// (RFC 7692 lets the sender choose per message), never queued behind others. Thread-safe.
/// </summary>
internal sealed class CompressionPool : IDisposable
{
    private readonly ConcurrentQueue<Deflater>[] _deflaters = new ConcurrentQueue<Deflater>[8];
    private readonly ConcurrentQueue<Inflater>[] _inflaters = new ConcurrentQueue<Inflater>[8];
    private readonly int _maxRetained;
    private int _retainedDeflaters;
    private int _retainedInflaters;
    private int _activeCompressions;
    private long _liveDeflaters;
    private long _liveInflaters;

    public CompressionPool(int level, int memoryLevel, int maxConcurrentCompressions, int maxRetained)
    {
        Level = level;
        MemoryLevel = memoryLevel;
        MaxConcurrentCompressions = maxConcurrentCompressions;
        _maxRetained = maxRetained;
        for (int i = 0; i < 8; i++)
        {
            _deflaters[i] = new ConcurrentQueue<Deflater>();
            _inflaters[i] = new ConcurrentQueue<Inflater>();
        }
    }

    public int Level { get; }

    public int MemoryLevel { get; }

    public int MaxConcurrentCompressions { get; }

    /// <summary>Deflaters alive (pooled, borrowed or owned by connections with context takeover).</summary>
    public long LiveDeflaters => Interlocked.Read(ref _liveDeflaters);

    /// <summary>Inflaters alive (pooled, borrowed or owned by connections with context takeover).</summary>
    public long LiveInflaters => Interlocked.Read(ref _liveInflaters);

    /// <summary>Compressions running now.</summary>
    public int ActiveCompressions => Volatile.Read(ref _activeCompressions);

    /// <summary>Claims one of the concurrent compression slots; false at the cap (send uncompressed instead).</summary>
    public bool TryBeginCompression()
    {
        if (Interlocked.Increment(ref _activeCompressions) > MaxConcurrentCompressions)
        {
            Interlocked.Decrement(ref _activeCompressions);
            return false;
        }
        return true;
    }

    public void EndCompression() => Interlocked.Decrement(ref _activeCompressions);

    /// <summary>
    /// Compresses <paramref name="payload"/> as a message that stands alone (a pooled deflater, no context kept) into a
    /// buffer rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>, which the caller returns. False at the
    /// compression cap: send it uncompressed.
    /// </summary>
    public bool TryCompressAlone(ReadOnlySpan<byte> payload, int windowBits, out byte[] buffer, out int length)
    {
        buffer = null!;
        length = 0;
        if (!TryBeginCompression())
        {
            return false;
        }
        try
        {
            Deflater deflater = RentDeflater(windowBits);
            buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Deflater.MaxOutputLength(payload.Length));
            length = deflater.Compress(payload, buffer, resetContext: true);
            ReturnDeflater(deflater);
            return true;
        }
        finally
        {
            EndCompression();
        }
    }

    public Deflater RentDeflater(int windowBits)
    {
        if (_deflaters[windowBits - 8].TryDequeue(out Deflater? deflater))
        {
            Interlocked.Decrement(ref _retainedDeflaters);
            return deflater;
        }
        return CreateDeflater(windowBits);
    }

    /// <summary>Takes back a borrowed deflater; it must have ended its last message with a full flush (no context kept).</summary>
    public void ReturnDeflater(Deflater deflater)
    {
        if (Interlocked.Increment(ref _retainedDeflaters) <= _maxRetained)
        {
            _deflaters[deflater.WindowBits - 8].Enqueue(deflater);
            return;
        }
        Interlocked.Decrement(ref _retainedDeflaters);
        Destroy(deflater);
    }

    /// <summary>A deflater a connection keeps (context takeover); give it to <see cref="Destroy(Deflater)"/> when done.</summary>
    public Deflater CreateDeflater(int windowBits)
    {
        var deflater = new Deflater(windowBits, MemoryLevel, Level);
        Interlocked.Increment(ref _liveDeflaters);
        return deflater;
    }

    public void Destroy(Deflater deflater)
    {
        deflater.Dispose();
        Interlocked.Decrement(ref _liveDeflaters);
    }

    public Inflater RentInflater(int windowBits)
    {
        int index = Math.Max(windowBits, 9) - 8;
        if (_inflaters[index].TryDequeue(out Inflater? inflater))
        {
            Interlocked.Decrement(ref _retainedInflaters);
            return inflater;
        }
        return CreateInflater(windowBits);
    }

    /// <summary>Takes back a borrowed inflater, reset so the next borrower starts clean whatever state it was left in.</summary>
    public void ReturnInflater(Inflater inflater)
    {
        inflater.Reset();
        if (Interlocked.Increment(ref _retainedInflaters) <= _maxRetained)
        {
            _inflaters[inflater.WindowBits - 8].Enqueue(inflater);
            return;
        }
        Interlocked.Decrement(ref _retainedInflaters);
        Destroy(inflater);
    }

    public Inflater CreateInflater(int windowBits)
    {
        var inflater = new Inflater(windowBits);
        Interlocked.Increment(ref _liveInflaters);
        return inflater;
    }

    public void Destroy(Inflater inflater)
    {
        inflater.Dispose();
        Interlocked.Decrement(ref _liveInflaters);
    }

    public void Dispose()
    {
        foreach (ConcurrentQueue<Deflater> queue in _deflaters)
        {
            while (queue.TryDequeue(out Deflater? deflater))
            {
                Destroy(deflater);
            }
        }
        foreach (ConcurrentQueue<Inflater> queue in _inflaters)
        {
            while (queue.TryDequeue(out Inflater? inflater))
            {
                Destroy(inflater);
            }
        }
    }
}
