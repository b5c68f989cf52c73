using System.Reflection;
using System.Security.Cryptography;
using Engine;

namespace Host;

/// <summary>
/// The browser client (<c>/client.js</c>, <c>/client.d.ts</c>) and the demo page (<c>/</c>), embedded in the assembly
/// from <c>clients/browser</c> so <c>dotnet run</c> and a published binary serve the same bytes without a files directory.
/// Caching: <c>Cache-Control: no-cache</c> with a strong ETag (a hash of the content). The browser revalidates on every
/// load and gets a body-less 304 while the file is unchanged, so a new Host version is picked up at once (a max-age
/// would keep serving a client that no longer matches the server's protocol) at the cost of one small round trip.
/// </summary>
public static class StaticAssets
{
    private static readonly Asset[] Assets =
    [
        Load("/", "index.html", "text/html; charset=utf-8"),
        Load("/index.html", "index.html", "text/html; charset=utf-8"),
        Load("/client.js", "client.js", "text/javascript; charset=utf-8"),
        Load("/client.d.ts", "client.d.ts", "text/plain; charset=utf-8"),
    ];

    /// <summary>The asset at the request's path (200, or 304 when <c>If-None-Match</c> carries its ETag); null when there is none.</summary>
    public static HttpResponse? Handle(RequestHead request)
    {
        foreach (Asset asset in Assets)
        {
            if (request.PathEquals(asset.Path))
            {
                string? ifNoneMatch = request.GetHeader("If-None-Match");
                // RFC 9110 §13.1.2: a list of entity tags, or "*"; weak comparison is allowed for If-None-Match.
                bool unchanged = ifNoneMatch is not null && (ifNoneMatch.Trim() == "*" || ifNoneMatch.Split(',').Any(tag => tag.Trim().TrimStart('W', '/') == asset.ETag));
                return unchanged ? asset.NotModified : asset.Ok;
            }
        }
        return null;
    }

    private static Asset Load(string path, string resource, string contentType)
    {
        using Stream stream = typeof(StaticAssets).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} is missing from {typeof(StaticAssets).Assembly.GetName().Name}");
        byte[] body = new byte[stream.Length];
        stream.ReadExactly(body);
        string etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 12))}\"";
        KeyValuePair<string, string>[] headers = [new("Cache-Control", "no-cache"), new("ETag", etag), new("X-Content-Type-Options", "nosniff")];
        return new Asset(System.Text.Encoding.ASCII.GetBytes(path), etag,
            new HttpResponse(200, contentType, body, headers),
            new HttpResponse(304, contentType, ReadOnlyMemory<byte>.Empty, headers));
    }

    private sealed record Asset(byte[] Path, string ETag, HttpResponse Ok, HttpResponse NotModified);
}
