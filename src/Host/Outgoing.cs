using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Engine;

namespace Host;

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
