using System.Net;
using System.Net.Sockets;

namespace Engine.Transports;

/// <summary>
/// Refuses a port another process already listens on. The loops' listeners share their port through SO_REUSEPORT,
/// and on Linux .NET's ReuseAddress sets SO_REUSEPORT too, so a second server on a taken port would bind anyway and
/// quietly take half of the first one's connections (a second Host started by mistake did). A probe socket with
/// SO_REUSEADDR alone (so a port that only has TIME_WAIT connections left from a previous run still passes) cannot
/// bind where a socket listens.
/// </summary>
internal static class ListenerPortCheck
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    /// <summary>Throws <see cref="SocketException"/> (AddressAlreadyInUse) when something listens on <paramref name="endPoint"/>.</summary>
    public static void EnsureFree(IPEndPoint endPoint)
    {
        if (endPoint.Port == 0 || !OperatingSystem.IsLinux())
        {
            return; // an ephemeral port is free by definition; elsewhere ReuseAddress does not mean SO_REUSEPORT
        }
        using var probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
        {
            probe.DualMode = true;
        }
        probe.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        probe.Bind(endPoint);
    }
}
