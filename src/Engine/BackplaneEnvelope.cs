using System.Buffers.Binary;

namespace Engine;

/// <summary>
/// The bytes a backplane puts on the broker for one channel message, the same for every broker:
/// <code>
/// [0]      version (1)
/// [1]      flags: bit 0 set = binary message, clear = text
/// [2..18)  origin node id (<see cref="Guid"/> bytes)
/// [18..26) publishing connection id (int64, little endian; 0 for none)
/// [26..)   payload, as published
/// </code>
/// A reader refuses other versions rather than guessing, so nodes of different versions never exchange garbage.
/// </summary>
public static class BackplaneEnvelope
{
    /// <summary>Bytes before the payload.</summary>
    public const int HeaderLength = 26;

    private const byte Version = 1;

    /// <summary>Writes the envelope into a new array (brokers' clients keep the array until sent).</summary>
    public static byte[] Create(Guid origin, long senderId, ReadOnlySpan<byte> payload, MessageType type)
    {
        byte[] envelope = new byte[HeaderLength + payload.Length];
        envelope[0] = Version;
        envelope[1] = type == MessageType.Binary ? (byte)1 : (byte)0;
        origin.TryWriteBytes(envelope.AsSpan(2, 16));
        BinaryPrimitives.WriteInt64LittleEndian(envelope.AsSpan(18, 8), senderId);
        payload.CopyTo(envelope.AsSpan(HeaderLength));
        return envelope;
    }

    /// <summary>Splits an envelope; false if it is too short or of another version.</summary>
    public static bool TryRead(ReadOnlySpan<byte> envelope, out Guid origin, out long senderId, out MessageType type, out ReadOnlySpan<byte> payload)
    {
        origin = default;
        senderId = 0;
        type = MessageType.Text;
        payload = default;
        if (envelope.Length < HeaderLength || envelope[0] != Version)
        {
            return false;
        }
        type = (envelope[1] & 1) != 0 ? MessageType.Binary : MessageType.Text;
        origin = new Guid(envelope.Slice(2, 16));
        senderId = BinaryPrimitives.ReadInt64LittleEndian(envelope.Slice(18, 8));
        payload = envelope[HeaderLength..];
        return true;
    }
}
