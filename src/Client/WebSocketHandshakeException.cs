namespace Engine.Client;

/// <summary>The opening handshake failed: the server refused the upgrade or answered something RFC 6455 §4.1 says to reject.</summary>
public sealed class WebSocketHandshakeException(string message) : Exception(message);
