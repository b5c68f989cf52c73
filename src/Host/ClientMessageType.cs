namespace Host;

/// <summary>The kinds of client-to-server text messages.</summary>
internal enum ClientMessageType : byte
{
    Auth,
    Subscribe,
    Unsubscribe,
    Message,
    Ping,
    RequestFile,
}
