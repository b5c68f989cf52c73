namespace Engine.Client;

/// <summary>A binary channel message (envelope kind 0x02, or 0x04 with its history <paramref name="Offset"/>).</summary>
public sealed record ChannelBinary(string Channel, string From, byte[] Payload, long? Offset = null);
