namespace Engine;

/// <summary>
/// A response to a plain HTTP request (one that is not a WebSocket upgrade), from <see cref="IWebSocketHandler.OnHttpRequest"/>.
/// The engine writes it and closes the connection (no keep-alive: health checks and static files need no more).
/// </summary>
public sealed class HttpResponse
{
    /// <summary>Creates a response.</summary>
    public HttpResponse(int status, string contentType, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers = null)
    {
        Status = status;
        ContentType = contentType;
        Body = body;
        Headers = headers;
    }

    /// <summary>The status code.</summary>
    public int Status { get; }

    /// <summary>The Content-Type header.</summary>
    public string ContentType { get; }

    /// <summary>The body; the engine copies it, so a cached array may be shared across responses.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Extra headers (ASCII), e.g. Cache-Control.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Headers { get; }

    /// <summary>A UTF-8 text response.</summary>
    public static HttpResponse Text(int status, string text, string contentType = "text/plain; charset=utf-8") =>
        new(status, contentType, System.Text.Encoding.UTF8.GetBytes(text));
}
