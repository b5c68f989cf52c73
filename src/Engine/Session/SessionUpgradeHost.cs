using Engine.Protocol;

namespace Engine.Session;

/// <summary>A session's <see cref="ISessionHost"/> as the <see cref="IUpgradeHost"/> that <see cref="UpgradeAnswer.Decide"/> asks (a struct: no allocation).</summary>
internal readonly struct SessionUpgradeHost(ISessionHost host) : IUpgradeHost
{
    public UpgradeDecision OnUpgrade(ReadOnlySpan<byte> buffer, in HttpRequestHead head) => host.OnUpgrade(buffer, head);

    public void OnHandshakeRejected(int status, HandshakeRejection reason) => host.OnHandshakeRejected(status, reason);
}
