namespace Engine.Session;

/// <summary>permessage-deflate as sessions need it: what to agree to, the threshold, and the server's compressor pool.</summary>
internal sealed record SessionCompression(Protocol.DeflateConfig Config, int Threshold, Compression.CompressionPool Pool)
{
    public static SessionCompression? From(CompressionOptions options) => options.Enabled
        ? new SessionCompression(
            new Protocol.DeflateConfig(options.ServerMaxWindowBits, options.ClientMaxWindowBits, options.ServerNoContextTakeover, options.ClientNoContextTakeover),
            options.Threshold,
            new Compression.CompressionPool(options.Level, options.MemoryLevel, options.MaxConcurrentCompressions, maxRetained: options.MaxConcurrentCompressions))
        : null;
}
