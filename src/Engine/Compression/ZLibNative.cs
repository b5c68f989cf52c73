using System.Runtime.InteropServices;

namespace Engine.Compression;

/// <summary>
/// The framework's own zlib (zlib-ng in .NET 9+), reached through the exports of libSystem.IO.Compression.Native that
/// DeflateStream itself uses. We call it directly because the public streams hide what RFC 7692 needs: raw deflate
/// with a chosen window size (8-15 bits), a chosen memory level, and sync/full flushes at message boundaries.
/// </summary>
internal static unsafe partial class ZLibNative
{
    private const string Library = "libSystem.IO.Compression.Native";

    public const int Ok = 0;
    public const int StreamEnd = 1;
    public const int NeedDictionary = 2;
    public const int BufferError = -5;

    public const int NoFlush = 0;
    public const int SyncFlush = 2;
    public const int FullFlush = 3;

    public const int Deflated = 8;
    public const int DefaultStrategy = 0;

    /// <summary>The PAL's z_stream mirror (pal_zlib.h): copied into the real z_stream on every call, so it needs no pinning between calls.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public nint Message;
        public nint InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateInit2_")]
    public static partial int DeflateInit2(ZStream* stream, int level, int method, int windowBits, int memLevel, int strategy);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Deflate")]
    public static partial int Deflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateEnd")]
    public static partial int DeflateEnd(ZStream* stream);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
    public static partial int InflateInit2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
    public static partial int Inflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateReset2_")]
    public static partial int InflateReset2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
    public static partial int InflateEnd(ZStream* stream);
}
