namespace Host;

/// <summary>Settings of the application protocol (<see cref="AppHandler"/>); read by <see cref="HostSettings"/> from <c>WS_*</c> variables.</summary>
public sealed record AppOptions
{
    /// <summary>The HS256 key (UTF-8 bytes of <c>WS_AUTH_SECRET</c>, at least 32); null runs the server open, without authentication.</summary>
    public byte[]? AuthSecret { get; init; }

    /// <summary>The required <c>aud</c> claim, or null to accept any audience.</summary>
    public string? AuthAudience { get; init; }

    /// <summary>The required <c>iss</c> claim, or null to accept any issuer.</summary>
    public string? AuthIssuer { get; init; }

    /// <summary>Time a client has to authenticate after the upgrade before it is closed with 4001. Default 5 s.</summary>
    public TimeSpan AuthTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether <c>?token=</c> in the upgrade URL authenticates. Off by default: URLs end up in proxy and access logs and
    /// in browser history, so a token there leaks; browsers cannot set headers on a WebSocket, so the first message is the safe place.
    /// </summary>
    public bool AllowQueryToken { get; init; }

    /// <summary>Origins allowed to upgrade (exact, case-insensitive); empty allows all. A request without Origin (not a browser) is allowed.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Channels one connection may join at once. Default 100.</summary>
    public int MaxChannels { get; init; } = 100;

    /// <summary>The directory <c>request-file</c> serves from; null disables file transfer.</summary>
    public string? FilesDirectory { get; init; }

    /// <summary>Period of the single sweep that closes connections past their auth deadline. Default 250 ms.</summary>
    public TimeSpan AuthSweepInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Bytes per binary frame of a file transfer. Default 64 KiB.</summary>
    public int FileChunkSize { get; init; } = 64 * 1024;

    /// <summary>Whether clients must authenticate.</summary>
    public bool AuthRequired => AuthSecret is not null;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        // HMAC-SHA256 keys shorter than the hash are weak, and Microsoft.IdentityModel refuses them (IDX10720).
        Require(AuthSecret is null || AuthSecret.Length >= 32, "WS_AUTH_SECRET", "must be at least 32 bytes");
        Require(AuthTimeout > TimeSpan.Zero, "WS_AUTH_TIMEOUT", "must be positive");
        Require(MaxChannels > 0, "WS_MAX_CHANNELS", "must be positive");
        Require(FilesDirectory is null || Directory.Exists(FilesDirectory), "WS_FILES_DIR", "must be an existing directory");
        Require(AuthSweepInterval > TimeSpan.Zero, nameof(AuthSweepInterval), "must be positive");
        Require(FileChunkSize is >= 1024 and <= 1024 * 1024, nameof(FileChunkSize), "must be 1 KiB to 1 MiB");
    }

    private static void Require(bool condition, string name, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {rule}.", name);
        }
    }
}
