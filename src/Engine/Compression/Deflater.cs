using System.Runtime.InteropServices;

namespace Engine.Compression;

/// <summary>
/// One raw-deflate compressor (RFC 7692 §7.2.1): compresses a whole message per call and strips the trailing
/// <c>00 00 FF FF</c> of the flush. Not thread-safe: one message at a time (its owner or the pool serializes use).
/// The zlib state lives in native memory and is freed by <see cref="Dispose"/> (or the finalizer if a bug loses it).
/// </summary>
internal sealed unsafe class Deflater : IDisposable
{
    // zlib cannot deflate with an 8-bit window in raw mode (deflateInit2 turns 8 into 9), so a 2^8 window is kept by
    // compressing in 256-byte slices, each ended by a full flush that resets the match history: no match can reach
    // farther back than 256 bytes, which is what a peer that asked for server_max_window_bits=8 can inflate.
    private const int SmallWindowSlice = 256;

    private ZLibNative.ZStream* _stream;
    private readonly bool _smallWindow;

    /// <param name="windowBits">8-15, the LZ77 window the peer agreed to (RFC 7692 §7.1.2.1).</param>
    /// <param name="memoryLevel">1-9: zlib's internal state size (smaller saves memory, costs ratio).</param>
    /// <param name="level">1-9: zlib's compression level.</param>
    public Deflater(int windowBits, int memoryLevel, int level)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowBits, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(windowBits, 15);
        WindowBits = windowBits;
        _smallWindow = windowBits == 8;
        _stream = (ZLibNative.ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZLibNative.ZStream));
        int status = ZLibNative.DeflateInit2(_stream, level, ZLibNative.Deflated, -Math.Max(windowBits, 9), memoryLevel, ZLibNative.DefaultStrategy);
        if (status != ZLibNative.Ok)
        {
            NativeMemory.Free(_stream);
            _stream = null;
            throw new InvalidOperationException($"deflateInit2 failed ({status})");
        }
    }

    ~Deflater() => Free();

    public int WindowBits { get; }

    /// <summary>An output size that always suffices for <paramref name="inputLength"/> bytes (stored blocks and flush markers included).</summary>
    public static int MaxOutputLength(int inputLength) => inputLength + (inputLength >> 2) + 64;

    /// <summary>
    /// Compresses one whole message into <paramref name="output"/> (at least <see cref="MaxOutputLength"/> bytes) and
    /// returns the compressed length, the flush tail already removed. <paramref name="resetContext"/> ends the message with
    /// a full flush so that the next message references nothing before it (no context takeover, or a pooled deflater).
    /// </summary>
    public int Compress(ReadOnlySpan<byte> input, Span<byte> output, bool resetContext)
    {
        ObjectDisposedException.ThrowIf(_stream is null, this);
        int written = 0;
        fixed (byte* inPtr = input)
        fixed (byte* outPtr = output)
        {
            int offset = 0;
            do
            {
                int slice = _smallWindow ? Math.Min(SmallWindowSlice, input.Length - offset) : input.Length - offset;
                bool last = offset + slice == input.Length;
                _stream->NextIn = inPtr + offset;
                _stream->AvailIn = (uint)slice;
                _stream->NextOut = outPtr + written;
                _stream->AvailOut = (uint)(output.Length - written);
                int flush = _smallWindow || (last && resetContext) ? ZLibNative.FullFlush : ZLibNative.SyncFlush;
                int status = ZLibNative.Deflate(_stream, flush);
                // A flush that filled the output exactly may still hold bytes back: the bound makes that a bug, not input.
                if ((status != ZLibNative.Ok && status != ZLibNative.BufferError) || _stream->AvailIn != 0 || _stream->AvailOut == 0)
                {
                    throw new InvalidOperationException($"deflate failed ({status})");
                }
                written = output.Length - (int)_stream->AvailOut;
                offset += slice;
            }
            while (offset < input.Length);
        }
        if (written == 0)
        {
            // An empty message on a context with nothing pending (the last flush ended on a byte boundary): zlib emits
            // nothing. RFC 7692 §7.2.3.6: send an empty stored block, 0x00; with the tail the peer appends it inflates to nothing.
            output[0] = 0;
            return 1;
        }
        // RFC 7692 §7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff the flush left at the tail.
        System.Diagnostics.Debug.Assert(written >= 4 && output.Slice(written - 4, 4).SequenceEqual((ReadOnlySpan<byte>)[0, 0, 0xFF, 0xFF]));
        return written - 4;
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
            ZLibNative.DeflateEnd(_stream);
            NativeMemory.Free(_stream);
            _stream = null;
        }
    }
}
