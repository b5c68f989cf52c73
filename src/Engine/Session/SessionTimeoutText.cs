namespace Engine.Session;

/// <summary>How a timeout reads in logs and close reasons.</summary>
internal static class SessionTimeoutText
{
    public static string Describe(this SessionTimeout timeout) => timeout switch
    {
        SessionTimeout.Handshake => "handshake timeout",
        SessionTimeout.Heartbeat => "heartbeat timeout",
        _ => "close timeout",
    };
}
