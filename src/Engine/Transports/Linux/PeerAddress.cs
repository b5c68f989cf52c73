using System.Buffers.Binary;
using System.Net;

namespace Engine.Transports.Linux;

/// <summary>A peer's address from accept4's sockaddr, kept as plain values until someone asks for an <see cref="IPEndPoint"/>.</summary>
internal readonly struct PeerAddress
{
    private const byte IPv4 = 4;
    private const byte IPv6 = 6;
    private const byte IPv6Scoped = 7; // the scope id is in _w1

    // 20 bytes of 4-byte words (memory per idle connection): 64-bit fields would align this struct to 8 and pad it to
    // 24 inside the connection. The address is four big-endian words. An IPv6 scope id (the kernel reports one for
    // link-local peers, fe80::/10) takes the address's second word, which a link-local address has zero (RFC 4291,
    // 2.5.6); in the malformed case that it is not zero, the scope id is dropped and the address kept.
    private readonly uint _w0;
    private readonly uint _w1;
    private readonly uint _w2;
    private readonly uint _w3;
    private readonly ushort _port;
    private readonly byte _family; // 0 unknown

    private PeerAddress(uint w0, uint w1, uint w2, uint w3, ushort port, byte family)
    {
        _w0 = w0;
        _w1 = w1;
        _w2 = w2;
        _w3 = w3;
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
            return new PeerAddress(BinaryPrimitives.ReadUInt32BigEndian(sockaddr.Slice(4)), 0, 0, 0, port, IPv4);
        }
        if (family == 10 && sockaddr.Length >= 28)
        {
            ReadOnlySpan<byte> address = sockaddr.Slice(8, 16);
            uint w1 = BinaryPrimitives.ReadUInt32BigEndian(address.Slice(4));
            uint scope = BinaryPrimitives.ReadUInt32LittleEndian(sockaddr.Slice(24));
            bool scoped = scope != 0 && w1 == 0;
            return new PeerAddress(BinaryPrimitives.ReadUInt32BigEndian(address), scoped ? scope : w1,
                BinaryPrimitives.ReadUInt32BigEndian(address.Slice(8)), BinaryPrimitives.ReadUInt32BigEndian(address.Slice(12)),
                port, scoped ? IPv6Scoped : IPv6);
        }
        return default;
    }

    public IPEndPoint? ToEndPoint()
    {
        if (_family == IPv4)
        {
            return new IPEndPoint(new IPAddress(BinaryPrimitives.ReverseEndianness(_w0)), _port); // IPAddress(long): network order in memory
        }
        if (_family is not (IPv6 or IPv6Scoped))
        {
            return null;
        }
        bool scoped = _family == IPv6Scoped;
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, _w0);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.Slice(4), scoped ? 0 : _w1);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.Slice(8), _w2);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.Slice(12), _w3);
        var address = new IPAddress(bytes, scoped ? _w1 : 0);
        return new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, _port);
    }
}
