namespace Engine.Protocol;

/// <summary>
/// What one permessage-deflate negotiation agreed (RFC 7692 §7.1): the window each side compresses with and whether
/// each side resets its context after every message. "Server" is us: we compress with <see cref="ServerWindowBits"/>
/// and the client with <see cref="ClientWindowBits"/>.
/// </summary>
internal readonly record struct DeflateParameters(
    byte ServerWindowBits,
    byte ClientWindowBits,
    bool ServerNoContextTakeover,
    bool ClientNoContextTakeover);
