using System.Text.Json.Serialization;

namespace Host;

// The app protocol's outgoing JSON shapes (serialized by AppJsonContext), kept together in one file: each is a few lines,
// and side by side they read like the message table of docs/protocol.md.

/// <summary>Server-to-client control messages of the app protocol (docs/protocol.md). <c>type</c> is written first.</summary>
internal readonly record struct ConnectedMessage(string Id)
{
    [JsonPropertyOrder(-1)]
    public string Type => "connected";
}

internal readonly record struct AuthenticatedMessage(string User)
{
    [JsonPropertyOrder(-1)]
    public string Type => "authenticated";
}

/// <summary>With channel history: the position live messages continue after, and whether a resume was complete.</summary>
internal readonly record struct SubscribedMessage(string Channel,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Offset = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Epoch = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Recovered = null)
{
    [JsonPropertyOrder(-1)]
    public string Type => "subscribed";
}

internal readonly record struct UnsubscribedMessage(string Channel)
{
    [JsonPropertyOrder(-1)]
    public string Type => "unsubscribed";
}

internal readonly record struct PongMessage()
{
    public string Type => "pong";
}

internal readonly record struct ErrorMessage(string Message)
{
    [JsonPropertyOrder(-1)]
    public string Type => "error";
}

internal readonly record struct FileMetaMessage(string Name, long Size)
{
    [JsonPropertyOrder(-1)]
    public string Type => "file-meta";
}

internal readonly record struct HealthStatus(string Status, int Connections, int Channels,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Backplane = null);

/// <summary>The <c>/readyz</c> answer: <c>ready</c>, or <c>not-ready</c> with the reasons.</summary>
internal readonly record struct ReadinessStatus(string Status, string[] Reasons);
