namespace Engine.Client;

/// <summary>Settings of an <see cref="EngineClient"/>. The defaults match the browser client (clients/browser/client.js).</summary>
public sealed record EngineClientOptions
{
    /// <summary>The server, e.g. <c>ws://localhost:8080/</c>. Never put the token in it.</summary>
    public required Uri Uri { get; init; }

    /// <summary>The JWT sent as the first message after every (re)connect; null on an open server. Ignored when <see cref="TokenProvider"/> is set.</summary>
    public string? Token { get; init; }

    /// <summary>Called before every (re)connect for a fresh token (overrides <see cref="Token"/>).</summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; init; }

    /// <summary>Subprotocols offered in the handshake.</summary>
    public IReadOnlyList<string> Subprotocols { get; init; } = [];

    /// <summary>Time between application pings; zero disables the heartbeat.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary>How long to wait for a pong before closing with 4000 "Heartbeat timeout" and reconnecting.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Backoff base: retry n waits min(<see cref="MaxDelay"/>, BaseDelay * 2^n) times a random factor in [0.5, 1).</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Backoff cap.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reconnection attempts after an unexpected close before giving up; reset after each successful open.</summary>
    public int MaxRetries { get; init; } = 10;

    /// <summary>Messages held while not connected; one more is refused with <see cref="EngineClientErrorKind.QueueFull"/>.</summary>
    public int MaxQueue { get; init; } = 256;

    /// <summary>Time allowed for TCP connect plus the opening handshake.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Backoff before retry <paramref name="attempt"/> (0-based), with <paramref name="random"/> in [0, 1).</summary>
    public TimeSpan Backoff(int attempt, double random)
    {
        double ceiling = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (random * 0.5)));
    }
}
