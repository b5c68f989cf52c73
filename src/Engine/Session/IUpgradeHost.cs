using Engine.Protocol;

namespace Engine.Session;

/// <summary>
/// Who decides an opening handshake: the connection facade for the engine's own transports (its
/// <see cref="ISessionHost"/> through <see cref="SessionUpgradeHost"/>), or the hand-off of a request another HTTP
/// server parsed. Called on the thread that handles the request.
/// </summary>
internal interface IUpgradeHost
{
    /// <summary>A valid upgrade request: accept it (101) or reject it.</summary>
    UpgradeDecision OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head);

    /// <summary>The handshake was refused with <paramref name="status"/> (0: no response, the handshake timed out). For metrics and logs.</summary>
    void OnHandshakeRejected(int status, HandshakeRejection reason)
    {
    }
}
