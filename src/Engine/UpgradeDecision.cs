namespace Engine;

/// <summary>The answer of <see cref="IWebSocketHandler.OnUpgrade"/>: accept (optionally with a subprotocol and user state) or reject with an HTTP status.</summary>
public readonly struct UpgradeDecision
{
    private UpgradeDecision(int status, string? subprotocol, object? state)
    {
        Status = status;
        Subprotocol = subprotocol;
        State = state;
    }

    /// <summary>101 when accepted, otherwise the rejection status.</summary>
    public int Status { get; }

    /// <summary>The chosen subprotocol; must be one the client offered.</summary>
    public string? Subprotocol { get; }

    /// <summary>Initial <see cref="WebSocketConnection.UserState"/>.</summary>
    public object? State { get; }

    /// <summary>Whether the upgrade is accepted.</summary>
    public bool IsAccepted => Status == 101;

    /// <summary>Accepts the upgrade.</summary>
    public static UpgradeDecision Accept(string? subprotocol = null, object? state = null) => new(101, subprotocol, state);

    // Marks the engine's own 503 for MaxConnections (State is unused on a rejection), so the rejection metric can tell it
    // from an application's 503 without a field on every connection.
    private static readonly object ServerFullMarker = new();

    /// <summary>The engine's rejection when <see cref="WebSocketServerOptions.MaxConnections"/> is reached.</summary>
    internal static UpgradeDecision ServerFull => new(503, null, ServerFullMarker);

    internal bool IsServerFull => ReferenceEquals(State, ServerFullMarker);

    /// <summary>Rejects the upgrade with <paramref name="status"/> (for example 401, 403, 503).</summary>
    public static UpgradeDecision Reject(int status)
    {
        if (status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), "a rejection is a 4xx or 5xx status");
        }
        return new(status, null, null);
    }
}
