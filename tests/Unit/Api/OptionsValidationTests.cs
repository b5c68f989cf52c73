namespace Engine.Tests.Unit.Api;

public sealed class OptionsValidationTests
{
    public static TheoryData<string> SessionTimeouts => ["HandshakeTimeout", "HeartbeatInterval", "HeartbeatTimeout", "CloseTimeout", "IdleTimeout"];

    private static WebSocketServerOptions With(string name, TimeSpan value) => name switch
    {
        "HandshakeTimeout" => new WebSocketServerOptions { HandshakeTimeout = value },
        "HeartbeatInterval" => new WebSocketServerOptions { HeartbeatInterval = value },
        "HeartbeatTimeout" => new WebSocketServerOptions { HeartbeatTimeout = value },
        "CloseTimeout" => new WebSocketServerOptions { CloseTimeout = value },
        "IdleTimeout" => new WebSocketServerOptions { IdleTimeout = value },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(SessionTimeouts))]
    public void A_session_timeout_is_at_most_24_days(string name)
    {
        // A connection keeps its deadlines as 32-bit clock stamps, which are compared safely within 24.8 days only.
        With(name, TimeSpan.FromDays(24)).Validate();
        ArgumentException refused = Assert.Throws<ArgumentException>(With(name, TimeSpan.FromDays(25)).Validate);
        Assert.Contains(name, refused.Message, StringComparison.Ordinal);
    }
}
