using System.Buffers;
using System.Runtime.InteropServices;

namespace Engine.Compression;

/// <summary>
/// One raw-inflate decompressor (RFC 7692 §7.2.2), fed a message's payload in whatever pieces it arrives and writing
/// into whatever space the caller has, so the caller can stop the moment the inflated size passes its limit
/// (decompression bombs are never inflated whole). Not thread-safe. Native state freed by <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class Inflater : IDisposable
{
    /// <summary>RFC 7692 §7.2.2: the receiver appends these octets to the message's payload before inflating its end.</summary>
    public static ReadOnlySpan<byte> FlushTail => [0x00, 0x00, 0xFF, 0xFF];

    private ZLibNative.ZStream* _stream;
    private bool _ended;

    /// <param name="windowBits">8-15, the LZ77 window the peer compresses with.</param>
    /// <param name="exact">Use exactly that window, even 8 (a strict peer's check, as a test client wants); else at least 9.</param>
    public Inflater(int windowBits, bool exact = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowBits, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(windowBits, 15);
        // zlib-based peers asked for an 8-bit window silently use 9 (deflateInit2 raises it), so inflate with at least 9:
        // a larger window than the sender's is always safe, a smaller one fails on their farthest matches.
        WindowBits = exact ? windowBits : Math.Max(windowBits, 9);
        _stream = (ZLibNative.ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZLibNative.ZStream));
        int status = ZLibNative.InflateInit2(_stream, -WindowBits);
        if (status != ZLibNative.Ok)
        {
            NativeMemory.Free(_stream);
            _stream = null;
            throw new InvalidOperationException($"inflateInit2 failed ({status})");
        }
    }

    ~Inflater() => Free();

    public int WindowBits { get; }

    /// <summary>
    /// Inflates from <paramref name="input"/> into <paramref name="output"/>. <see cref="OperationStatus.Done"/>: all
    /// input consumed and output space left; <see cref="OperationStatus.DestinationTooSmall"/>: the output filled up,
    /// call again with the rest of the input (and, possibly, an empty rest: zlib may hold output back);
    /// <see cref="OperationStatus.InvalidData"/>: the data is not valid deflate.
    /// </summary>
    public OperationStatus Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int written)
    {
        ObjectDisposedException.ThrowIf(_stream is null, this);
        if (_ended)
        {
            // The sender ended the deflate stream (a block with BFINAL set) inside the message: what follows is ignored.
            consumed = input.Length;
            written = 0;
            return OperationStatus.Done;
        }
        fixed (byte* inPtr = input)
        fixed (byte* outPtr = output)
        {
            _stream->NextIn = inPtr;
            _stream->AvailIn = (uint)input.Length;
            _stream->NextOut = outPtr;
            _stream->AvailOut = (uint)output.Length;
            int status = ZLibNative.Inflate(_stream, ZLibNative.SyncFlush);
            consumed = input.Length - (int)_stream->AvailIn;
            written = output.Length - (int)_stream->AvailOut;
            _stream->NextIn = _stream->NextOut = null;
            switch (status)
            {
                case ZLibNative.StreamEnd:
                    _ended = true;
                    consumed = input.Length;
                    return OperationStatus.Done;
                case ZLibNative.Ok:
                case ZLibNative.BufferError: // no progress possible: input exhausted or output full
                    return _stream->AvailOut == 0 ? OperationStatus.DestinationTooSmall : OperationStatus.Done;
                default:
                    return OperationStatus.InvalidData;
            }
        }
    }

    /// <summary>Forgets the window and any error: the next message starts a fresh stream (no context takeover, or reuse from the pool).</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_stream is null, this);
        ZLibNative.InflateReset2(_stream, -WindowBits);
        _ended = false;
    }

    /// <summary>Ends a message: with context takeover the window is kept, unless the sender ended the stream.</summary>
    public void EndMessage(bool keepContext)
    {
        if (!keepContext || _ended)
        {
            Reset();
        }
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_stream is not null)
        {
            ZLibNative.InflateEnd(_stream);
            NativeMemory.Free(_stream);
            _stream = null;
        }
    }
}
