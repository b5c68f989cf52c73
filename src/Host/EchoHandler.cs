using Engine;

namespace Host;

/// <summary>Echoes every message back to its sender (for the conformance suite and the benchmarks).</summary>
public sealed class EchoHandler(DiagnosticsEndpoints? diagnostics = null) : IWebSocketHandler
{
    // Echoes queued, striped by processor so the I/O threads do not contend on one cache line (128-byte stride).
    private readonly long[] _echoed = new long[Environment.ProcessorCount * 16];

    /// <summary>
    /// Messages echoed (accepted into a send queue) so far. The graceful-stop test compares it, after SIGTERM, with what the
    /// clients received before the close frame: every accepted message must arrive.
    /// </summary>
    public long Echoed
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _echoed.Length; i += 16)
            {
                total += Interlocked.Read(ref _echoed[i]);
            }
            return total;
        }
    }

    /// <inheritdoc/>
    public HttpResponse? OnHttpRequest(RequestHead request) => diagnostics?.Handle(request);

    /// <inheritdoc/>
    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
    {
        if (connection.Send(payload, type) == SendStatus.Queued)
        {
            Interlocked.Increment(ref _echoed[(Thread.GetCurrentProcessorId() % (_echoed.Length / 16)) * 16]);
        }
    }
}
