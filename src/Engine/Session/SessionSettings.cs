using Engine.Timers;

namespace Engine.Session;

/// <summary>
/// The per-connection limits, made from the options once per server (<c>WebSocketServer</c>: the options belong to the
/// layer above) and shared by its sessions (milliseconds for the clock).
/// </summary>
internal sealed record SessionSettings(
    long MaxMessageSize,
    int MaxRequestHeadSize,
    bool Streamed,
    long HandshakeTimeoutMs,
    long HeartbeatIntervalMs,
    long HeartbeatTimeoutMs,
    long CloseTimeoutMs,
    long IdleTimeoutMs,
    int MaxFragmentsPerMessage = int.MaxValue,
    SessionCompression? Compression = null)
{
    /// <summary>The clock (milliseconds) that reads are stamped with; the server's, so tests can drive it.</summary>
    public Func<long> Clock { get; init; } = static () => Environment.TickCount64;

    /// <summary>The server's timer wheel, which holds every session's next deadline (here, not in each session: memory per idle connection).</summary>
    public TimerWheel Wheel { get; init; } = null!;

    /// <summary>
    /// The state of messages that do not arrive whole in one read, lent to a session for the time one is in progress. It
    /// keeps every one returned (about 100 B each, at most as many as were in progress at the busiest moment, which every
    /// connection used to hold for good), so no message allocates however many connections are mid-message at once.
    /// </summary>
    public Microsoft.Extensions.ObjectPool.ObjectPool<MessageInProgress> Messages { get; init; } = MessageInProgress.CreatePool(1 << 20);

    /// <summary>
    /// The layer above's per-server object (the server), which its connections reach through their session instead of
    /// holding a reference each (memory per idle connection). The session never reads it.
    /// </summary>
    public object? Owner { get; init; }

    /// <summary>Where messages that span reads are assembled (the server's pool; shared by its sessions, not held by each).</summary>
    public System.Buffers.ArrayPool<byte> MessageBuffers { get; init; } = System.Buffers.ArrayPool<byte>.Shared;
}
