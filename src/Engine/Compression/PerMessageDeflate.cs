using System.Buffers;
using Engine.Protocol;

namespace Engine.Compression;

/// <summary>
/// One connection's permessage-deflate state (RFC 7692): the agreed parameters, and the zlib state it needs. Without
/// context takeover nothing is kept between messages (deflaters and inflaters are borrowed from the
/// <see cref="CompressionPool"/> per message); with it, the connection creates its own on first use.
/// Receive side (<see cref="BeginInflate"/>/<see cref="EndInflate"/>): the receive thread only. Send side
/// (<see cref="TryCompress"/>): callers lock this object around compressing and queuing, so compressed frames enter
/// the queue in the order their context was built.
/// Not sealed only for the session's <c>SessionDeflate</c>, which adds the field the session keeps with it.
/// </summary>
internal class PerMessageDeflate
{
    private readonly CompressionPool _pool;
    private Deflater? _ownedDeflater;
    private Inflater? _inflater;
    private bool _released;

    public PerMessageDeflate(in DeflateParameters parameters, CompressionPool pool, int threshold)
    {
        Parameters = parameters;
        _pool = pool;
        Threshold = threshold;
    }

    public DeflateParameters Parameters { get; }

    /// <summary>Messages shorter than this are sent uncompressed.</summary>
    public int Threshold { get; }

    /// <summary>The inflater of the message being received (between <see cref="BeginInflate"/> and <see cref="EndInflate"/>).</summary>
    public Inflater Inflater => _inflater!;

    public void BeginInflate()
    {
        if (Parameters.ClientNoContextTakeover)
        {
            _inflater = _pool.RentInflater(Parameters.ClientWindowBits);
        }
        else
        {
            _inflater ??= _pool.CreateInflater(Parameters.ClientWindowBits);
        }
    }

    /// <summary>Ends the message being inflated; <paramref name="failed"/> drops a context that can no longer be trusted.</summary>
    public void EndInflate(bool failed = false)
    {
        Inflater? inflater = _inflater;
        if (inflater is null)
        {
            return;
        }
        if (Parameters.ClientNoContextTakeover)
        {
            _inflater = null;
            _pool.ReturnInflater(inflater);
        }
        else
        {
            inflater.EndMessage(keepContext: !failed);
        }
    }

    /// <summary>
    /// Compresses <paramref name="payload"/> into a buffer rented from <see cref="ArrayPool{T}.Shared"/> (the caller
    /// returns it). False when the connection has ended or the server's compression cap is reached: send it uncompressed.
    /// The caller holds the lock on this object.
    /// </summary>
    public bool TryCompress(ReadOnlySpan<byte> payload, out byte[] buffer, out int length)
    {
        buffer = null!;
        length = 0;
        if (_released)
        {
            return false;
        }
        if (Parameters.ServerNoContextTakeover)
        {
            return _pool.TryCompressAlone(payload, Parameters.ServerWindowBits, out buffer, out length);
        }
        if (!_pool.TryBeginCompression())
        {
            return false;
        }
        try
        {
            _ownedDeflater ??= _pool.CreateDeflater(Parameters.ServerWindowBits);
            buffer = ArrayPool<byte>.Shared.Rent(Deflater.MaxOutputLength(payload.Length));
            length = _ownedDeflater.Compress(payload, buffer, resetContext: false);
            return true;
        }
        finally
        {
            _pool.EndCompression();
        }
    }

    /// <summary>
    /// A compressed message could not be queued after all (send limit): with context takeover the deflater's window now
    /// holds bytes the peer never saw, so it is replaced; a fresh window references nothing, which the peer always accepts.
    /// Caller holds the lock.
    /// </summary>
    public void DiscardContext()
    {
        if (_ownedDeflater is not null)
        {
            _pool.Destroy(_ownedDeflater);
            _ownedDeflater = null;
        }
    }

    /// <summary>The connection is over: return or free everything. Takes the send lock itself.</summary>
    public void Release()
    {
        lock (this)
        {
            _released = true;
            DiscardContext();
        }
        Inflater? inflater = _inflater;
        _inflater = null;
        if (inflater is not null)
        {
            if (Parameters.ClientNoContextTakeover)
            {
                _pool.ReturnInflater(inflater);
            }
            else
            {
                _pool.Destroy(inflater);
            }
        }
    }
}
