namespace Engine.History;

/// <summary>
/// Writes a channel message as it is delivered with its history offset: the application's format decides where the
/// offset goes (the Host adds an <c>offset</c> member to its JSON, and uses a binary kind with an offset field).
/// <paramref name="destination"/> holds <paramref name="payload"/>'s length plus <see cref="ChannelHistory.OffsetStampReserve"/>
/// bytes; returns the bytes written.
/// </summary>
public delegate int OffsetStamp(ReadOnlySpan<byte> payload, MessageType type, long offset, Span<byte> destination);
