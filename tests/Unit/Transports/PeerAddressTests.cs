using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Engine.Transports.Linux;

namespace Engine.Tests.Unit.Transports;

/// <summary>The Linux loops keep a peer's address as 20 bytes of plain values (accept4's sockaddr) and make the endpoint on demand.</summary>
public sealed class PeerAddressTests
{
    [Theory]
    [InlineData("127.0.0.1", 0u, 443)]
    [InlineData("203.0.113.9", 0u, 65535)]
    [InlineData("::1", 0u, 8080)]
    [InlineData("2001:db8::8a2e:370:7334", 0u, 1)]
    [InlineData("2001:db8:1:2:3:4:5:6", 0u, 80)] // every word of the address used
    [InlineData("::ffff:10.1.2.3", 0u, 9000)] // a dual-stack listener's IPv4 peer: reported as IPv4
    [InlineData("fe80::1c2d:3e4f:5a6b:7c8d", 3u, 5000)] // link-local: the scope id (the interface) comes back
    [InlineData("fe80::1", 4294967295u, 1234)]
    [InlineData("ff02::1", 2u, 7)] // multicast link scope: its second word is zero too
    public void The_endpoint_is_the_one_accept_reported(string address, uint scope, int port)
    {
        IPAddress parsed = IPAddress.Parse(address);
        var expected = new IPEndPoint(parsed.AddressFamily == AddressFamily.InterNetworkV6 ? new IPAddress(parsed.GetAddressBytes(), scope) : parsed, port);
        IPEndPoint? actual = PeerAddress.Parse(Sockaddr(expected)).ToEndPoint();
        if (expected.Address.IsIPv4MappedToIPv6)
        {
            expected = new IPEndPoint(expected.Address.MapToIPv4(), port);
        }
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Address.ScopeOrZero(), actual!.Address.ScopeOrZero());
    }

    [Fact]
    public void A_scope_id_that_has_no_room_is_dropped_and_the_address_kept()
    {
        // Not a valid link-local address (its second word must be zero), so the scope id cannot ride there.
        var peer = new IPEndPoint(new IPAddress(IPAddress.Parse("fe80:0:1::1").GetAddressBytes(), 5), 80);
        IPEndPoint? actual = PeerAddress.Parse(Sockaddr(peer)).ToEndPoint();
        Assert.Equal(IPAddress.Parse("fe80:0:1::1"), actual!.Address);
        Assert.Equal(0, actual.Address.ScopeId);
    }

    [Fact]
    public void An_unknown_family_has_no_endpoint()
    {
        Assert.Null(PeerAddress.Parse(new byte[16] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }).ToEndPoint()); // AF_UNIX
        Assert.Null(default(PeerAddress).ToEndPoint());
    }

    /// <summary>The sockaddr_in or sockaddr_in6 that Linux's accept4 writes for <paramref name="peer"/>.</summary>
    private static byte[] Sockaddr(IPEndPoint peer)
    {
        if (peer.AddressFamily == AddressFamily.InterNetwork)
        {
            var v4 = new byte[16];
            BinaryPrimitives.WriteUInt16LittleEndian(v4, 2);
            BinaryPrimitives.WriteUInt16BigEndian(v4.AsSpan(2), (ushort)peer.Port);
            peer.Address.GetAddressBytes().CopyTo(v4, 4);
            return v4;
        }
        var v6 = new byte[28];
        BinaryPrimitives.WriteUInt16LittleEndian(v6, 10);
        BinaryPrimitives.WriteUInt16BigEndian(v6.AsSpan(2), (ushort)peer.Port);
        peer.Address.GetAddressBytes().CopyTo(v6, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(v6.AsSpan(24), (uint)peer.Address.ScopeId);
        return v6;
    }
}

internal static class ScopeIds
{
    public static long ScopeOrZero(this IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? address.ScopeId : 0;
}
