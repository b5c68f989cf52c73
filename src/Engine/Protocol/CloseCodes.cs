namespace Engine.Protocol;

/// <summary>Close-code rules as pure functions.</summary>
internal static class CloseCodes
{
    /// <summary>
    /// Whether a code may appear in a received close frame. RFC 6455 §7.4.1/§7.4.2: 1004-1006 and 1015 are reserved
    /// and must not be sent; 0-999 are unused; 1016-2999 are reserved for future RFCs; 3000-4999 are for
    /// libraries and applications. 1012-1014 are registered with IANA since the RFC.
    /// </summary>
    public static bool IsValidOnWire(int code) => code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    /// <summary>Whether the application may send this code (the wire rule, and never 1005/1006/1015).</summary>
    public static bool IsSendable(CloseCode code) => IsValidOnWire((int)code);
}
