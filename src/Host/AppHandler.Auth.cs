using System.Collections.Concurrent;
using System.Text;
using Engine;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Host;

/// <summary>Authentication: the first message must be a valid JWT, within the auth timeout; otherwise close 4001.</summary>
public sealed partial class AppHandler
{
    /// <summary>The application close code for a failed or missing authentication.</summary>
    public const CloseCode Unauthorized = (CloseCode)4001;

    private readonly JsonWebTokenHandler _tokens = new();
    private readonly TokenValidationParameters? _tokenParameters;
    private readonly ConcurrentDictionary<long, AppConnection> _pending = new();
    private readonly CancellationTokenSource _stopSweep = new();
    private readonly Task? _sweep;

    private static TokenValidationParameters CreateTokenParameters(AppOptions options) => new()
    {
        IssuerSigningKey = new SymmetricSecurityKey(options.AuthSecret),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuerSigningKey = true,
        RequireSignedTokens = true,
        ValidateLifetime = true,
        RequireExpirationTime = true,
        // The default is 5 minutes; 30 s covers clock drift between token issuer and server without extending tokens much.
        ClockSkew = TimeSpan.FromSeconds(30),
        ValidateIssuer = options.AuthIssuer is not null,
        ValidIssuer = options.AuthIssuer,
        ValidateAudience = options.AuthAudience is not null,
        ValidAudience = options.AuthAudience,
    };

    /// <summary>The first message of an unauthenticated connection: <c>auth</c> with a valid token, or close 4001.</summary>
    private void Authenticate(AppConnection state, ReadOnlySpan<byte> payload, MessageType type)
    {
        if (type != MessageType.Text
            || ClientMessage.TryParse(payload, out ClientMessage message) is not null
            || message.Type != ClientMessageType.Auth
            || ValidateToken(ClientMessage.GetString(message.Token)) is not { } user)
        {
            Reject(state, timedOut: false);
            return;
        }
        if (!state.TryAuthenticate(user))
        {
            return; // the sweep timed it out in the meantime
        }
        Metrics.AuthSucceeded();
        _pending.TryRemove(state.Connection.Id, out _);
        Outgoing.Send(state.Connection, new AuthenticatedMessage(user), AppJsonContext.Default.AuthenticatedMessage);
    }

    private void Reject(AppConnection state, bool timedOut)
    {
        if (state.TryReject())
        {
            Metrics.AuthFailed(timedOut);
            _pending.TryRemove(state.Connection.Id, out _);
            state.Connection.Close(Unauthorized, "Unauthorized");
        }
    }

    /// <summary>The user (<c>sub</c>, else <c>name</c>) of a valid token; null for an invalid one.</summary>
    private string? ValidateToken(string token)
    {
        if (_tokenParameters is null || token.Length > 8192)
        {
            return null;
        }
        // HS256 with a fixed key needs no metadata fetch, so this task has completed when it returns (nothing blocks the
        // I/O thread); GetResult only unwraps it.
        TokenValidationResult result = _tokens.ValidateTokenAsync(token, _tokenParameters).GetAwaiter().GetResult();
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }
        string? user = jwt.Subject is { Length: > 0 } subject ? subject
            : jwt.TryGetPayloadValue("name", out string? name) && !string.IsNullOrEmpty(name) ? name
            : null;
        // The binary envelope carries the user in at most 255 bytes.
        return user is not null && Encoding.UTF8.GetByteCount(user) <= BinaryEnvelope.MaxFromLength ? user : null;
    }

    /// <summary>
    /// One loop for all connections instead of a timer each: every sweep interval, close those past their deadline.
    /// A connection is closed at most one interval late.
    /// </summary>
    private async Task SweepAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.AuthSweepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                foreach (KeyValuePair<long, AppConnection> entry in _pending)
                {
                    if (entry.Value.AuthDeadline <= now)
                    {
                        Reject(entry.Value, timedOut: true);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }
}
