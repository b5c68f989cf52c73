using System.Buffers.Binary;
using System.Net;

namespace Engine.Transports.Linux;

/// <summary>A peer's address from accept4's sockaddr, kept as plain values until someone asks for an <see cref="IPEndPoint"/>.</summary>
internal readonly struct PeerAddress
{
    // Two halves, not a UInt128: that is 16-byte aligned, which pads this struct to 32 bytes (and each connection with it).
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly uint _scope;
    private readonly ushort _port;
    private readonly byte _family; // 0 unknown, 4, 6

    private PeerAddress(UInt128 address, uint scope, ushort port, byte family)
    {
        _high = (ulong)(address >> 64);
        _low = (ulong)address;
        _scope = scope;
        _port = port;
        _family = family;
    }

    /// <summary>Reads a Linux sockaddr_in (family 2) or sockaddr_in6 (family 10).</summary>
    public static PeerAddress Parse(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < 8)
        {
            return default;
        }
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(sockaddr);
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(sockaddr.Slice(2));
        if (family == 2)
        {
            return new PeerAddress(BinaryPrimitives.ReadUInt32BigEndian(sockaddr.Slice(4)), 0, port, 4);
        }
        if (family == 10 && sockaddr.Length >= 28)
        {
            return new PeerAddress(BinaryPrimitives.ReadUInt128BigEndian(sockaddr.Slice(8)), BinaryPrimitives.ReadUInt32LittleEndian(sockaddr.Slice(24)), port, 6);
        }
        return default;
    }

    public IPEndPoint? ToEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        switch (_family)
        {
            case 4:
                BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)_low);
                return new IPEndPoint(new IPAddress(bytes.Slice(0, 4)), _port);
            case 6:
                BinaryPrimitives.WriteUInt128BigEndian(bytes, new UInt128(_high, _low));
                var address = new IPAddress(bytes, _scope);
                return new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, _port);
            default:
                return null;
        }
    }
}
