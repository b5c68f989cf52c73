namespace Engine;

/// <summary>
/// permessage-deflate (RFC 7692) settings of a <see cref="WebSocketServer"/>. Off by default. The defaults keep memory
/// bounded: the server answers <c>server_no_context_takeover</c>, so deflaters are pooled per server and borrowed per
/// message instead of held per connection (a zlib deflater costs hundreds of KiB).
/// </summary>
public sealed record CompressionOptions
{
    /// <summary>Whether permessage-deflate offers are accepted. Default false.</summary>
    public bool Enabled { get; init; }

    /// <summary>Messages shorter than this many bytes are sent uncompressed (not worth the CPU). Default 128.</summary>
    public int Threshold { get; init; } = 128;

    /// <summary>
    /// LZ77 window we compress with, 8-15 bits (2^bits bytes); lower when the client asks. A window of 8 is kept by
    /// compressing in 256-byte slices (zlib itself cannot deflate with 8). Default 15.
    /// </summary>
    public int ServerMaxWindowBits { get; init; } = 15;

    /// <summary>
    /// Window we ask clients to compress with, 8-15 bits, when they offer <c>client_max_window_bits</c>; it sizes our
    /// inflaters (2^bits bytes each). Default 15.
    /// </summary>
    public int ClientMaxWindowBits { get; init; } = 15;

    /// <summary>zlib memory level 1-9 of our deflaters: lower saves memory per deflater at some ratio. Default 8.</summary>
    public int MemoryLevel { get; init; } = 8;

    /// <summary>zlib compression level 1 (fastest) to 9 (smallest). Default 6.</summary>
    public int Level { get; init; } = 6;

    /// <summary>
    /// Answer <c>server_no_context_takeover</c> even when the client did not ask: every message is compressed on its own
    /// with a pooled deflater (less memory, somewhat lower ratio, and pub/sub compresses a message once for all such
    /// subscribers). False keeps a deflater per connection. Default true.
    /// </summary>
    public bool ServerNoContextTakeover { get; init; } = true;

    /// <summary>
    /// Answer <c>client_no_context_takeover</c> even when the client did not offer it: clients then compress every message
    /// on its own and we inflate with pooled inflaters, so idle connections hold no zlib state at all. Default false
    /// (each connection that sends a compressed message keeps an inflater: about 2^ClientMaxWindowBits bytes plus 7 KiB).
    /// </summary>
    public bool ClientNoContextTakeover { get; init; }

    /// <summary>Compressions allowed to run at once across the server; past it messages go out uncompressed. Default 2 per core.</summary>
    public int MaxConcurrentCompressions { get; init; } = 2 * Environment.ProcessorCount;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Require(Threshold >= 0, nameof(Threshold), "must not be negative");
        Require(ServerMaxWindowBits is >= 8 and <= 15, nameof(ServerMaxWindowBits), "must be 8-15");
        Require(ClientMaxWindowBits is >= 8 and <= 15, nameof(ClientMaxWindowBits), "must be 8-15");
        Require(MemoryLevel is >= 1 and <= 9, nameof(MemoryLevel), "must be 1-9");
        Require(Level is >= 1 and <= 9, nameof(Level), "must be 1-9");
        Require(MaxConcurrentCompressions > 0, nameof(MaxConcurrentCompressions), "must be positive");
    }

    private static void Require(bool condition, string name, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"Compression.{name} {rule}.", name);
        }
    }
}
