using System.Text.Json;

namespace Engine.Client;

/// <summary>A <c>message</c> from a channel.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="From">The publisher (set by the server).</param>
/// <param name="Content">The publisher's JSON value, as relayed.</param>
/// <param name="Offset">The message's place in the channel's history when the server keeps one; null without history,
/// and for messages delivered while the server's broker was down (they are not in the history).</param>
public sealed record ChannelMessage(string Channel, string From, JsonElement Content, long? Offset = null);
