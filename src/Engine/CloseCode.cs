namespace Engine;

/// <summary>
/// WebSocket close status codes (RFC 6455 §7.4.1 and the IANA registry). Application codes 3000-4999 are valid too:
/// cast them, e.g. <c>(CloseCode)4001</c>.
/// </summary>
public enum CloseCode : ushort
{
    /// <summary>1000: the purpose of the connection is fulfilled.</summary>
    NormalClosure = 1000,
    /// <summary>1001: the server is going down or the browser navigates away.</summary>
    GoingAway = 1001,
    /// <summary>1002: the peer broke the protocol.</summary>
    ProtocolError = 1002,
    /// <summary>1003: a message type the endpoint cannot accept.</summary>
    UnsupportedData = 1003,
    /// <summary>1005: reported locally when a close frame had no code; never sent.</summary>
    NoStatusReceived = 1005,
    /// <summary>1006: reported locally when the connection dropped without a close frame; never sent.</summary>
    AbnormalClosure = 1006,
    /// <summary>1007: a text message (or close reason) that is not valid UTF-8.</summary>
    InvalidPayloadData = 1007,
    /// <summary>1008: a message that violates the endpoint's policy.</summary>
    PolicyViolation = 1008,
    /// <summary>1009: a message too big to process.</summary>
    MessageTooBig = 1009,
    /// <summary>1010: the client needed an extension the server did not negotiate.</summary>
    MandatoryExtension = 1010,
    /// <summary>1011: the server hit an unexpected condition.</summary>
    InternalError = 1011,
    /// <summary>1012: the server is restarting.</summary>
    ServiceRestart = 1012,
    /// <summary>1013: try again later (for example, the server is overloaded).</summary>
    TryAgainLater = 1013,
    /// <summary>1014: a gateway got an invalid response upstream.</summary>
    BadGateway = 1014,
}
