using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Engine;

namespace Host;

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

/// <summary>Source-generated serializers (no reflection: trim- and AOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(ConnectedMessage))]
[JsonSerializable(typeof(AuthenticatedMessage))]
[JsonSerializable(typeof(SubscribedMessage))]
[JsonSerializable(typeof(UnsubscribedMessage))]
[JsonSerializable(typeof(PongMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(FileMetaMessage))]
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(ReadinessStatus))]
internal sealed partial class AppJsonContext : JsonSerializerContext;

/// <summary>
/// Writes outgoing JSON into a per-thread buffer that is reused message after message (the engine copies on Send),
/// so replies allocate nothing once the buffer has grown. Callbacks run on I/O threads and file transfers on the pool:
/// each thread has its own writer, and a writer is only used within one call.
/// </summary>
internal static class Outgoing
{
    // A buffer that grew past this for one big message is not kept for the thread's lifetime.
    private const int RetainLimit = 1 << 20;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    /// <summary>Serializes <paramref name="value"/> and sends it as one text message.</summary>
    public static SendStatus Send<T>(WebSocketConnection connection, T value, JsonTypeInfo<T> type)
    {
        Utf8JsonWriter writer = Begin();
        JsonSerializer.Serialize(writer, value, type);
        return connection.Send(End(writer), MessageType.Text);
    }

    /// <summary>Sends <c>{"type":"error","message":...}</c>.</summary>
    public static SendStatus Error(WebSocketConnection connection, string message) =>
        Send(connection, new ErrorMessage(message), AppJsonContext.Default.ErrorMessage);

    /// <summary>A reset writer over the thread's buffer; finish with <see cref="End"/>, whose span is valid until the next Begin on this thread.</summary>
    public static Utf8JsonWriter Begin()
    {
        ArrayBufferWriter<byte> buffer = _threadBuffer ??= new ArrayBufferWriter<byte>(1024);
        if (buffer.Capacity > RetainLimit)
        {
            buffer = _threadBuffer = new ArrayBufferWriter<byte>(1024);
        }
        buffer.ResetWrittenCount();
        Utf8JsonWriter writer = _threadWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        return writer;
    }

    /// <summary>Flushes the writer and returns what was written.</summary>
    public static ReadOnlySpan<byte> End(Utf8JsonWriter writer)
    {
        writer.Flush();
        return _threadBuffer!.WrittenSpan;
    }
}
