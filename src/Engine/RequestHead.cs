using System.Net;
using System.Text;
using Engine.Protocol;

namespace Engine;

/// <summary>
/// A view of an HTTP request head (an upgrade request or a plain HTTP request), valid only during the callback
/// that receives it: it reads straight from the connection's receive buffer. Strings are made only for what you ask.
/// </summary>
public readonly ref struct RequestHead
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly ref readonly HttpRequestHead _head;
    private readonly WebSocketConnection? _connection;
    private readonly EndPoint? _remoteEndPoint;

    internal RequestHead(ReadOnlySpan<byte> buffer, ref readonly HttpRequestHead head, WebSocketConnection? connection)
    {
        _buffer = buffer;
        _head = ref head;
        _connection = connection;
    }

    /// <summary>A request another HTTP server parsed and handed over (<see cref="WebSocketServer.BeginUpgrade"/>).</summary>
    internal RequestHead(ReadOnlySpan<byte> buffer, ref readonly HttpRequestHead head, EndPoint? remoteEndPoint, object? context)
    {
        _buffer = buffer;
        _head = ref head;
        _remoteEndPoint = remoteEndPoint;
        Context = context;
    }

    /// <summary>
    /// The peer's address (null for connections taken over from a <see cref="Stream"/> without one). Made when first
    /// asked: handlers that never look at it cost no address object per connection.
    /// </summary>
    public EndPoint? RemoteEndPoint => _connection?.RemoteEndPoint ?? _remoteEndPoint;

    /// <summary>
    /// What the HTTP server that parsed this request passed along with it (<see cref="WebSocketServer.BeginUpgrade"/>):
    /// under ASP.NET Core (Engine.AspNetCore) the request's <c>HttpContext</c>, with the authenticated user and the route
    /// values. Null on the engine's own transports.
    /// </summary>
    public object? Context { get; }

    /// <summary>The method, e.g. <c>GET</c>.</summary>
    public string Method => Encoding.ASCII.GetString(_head.Method.Of(_buffer));

    /// <summary>The request target as sent (path and query).</summary>
    public string Target => Encoding.ASCII.GetString(_head.Target.Of(_buffer));

    /// <summary>The path part of the target, without the query.</summary>
    public string Path
    {
        get
        {
            ReadOnlySpan<byte> target = _head.Target.Of(_buffer);
            int query = target.IndexOf((byte)'?');
            return Encoding.ASCII.GetString(query < 0 ? target : target.Slice(0, query));
        }
    }

    /// <summary>The query after <c>?</c> (without it), or an empty string.</summary>
    public string Query
    {
        get
        {
            ReadOnlySpan<byte> target = _head.Target.Of(_buffer);
            int query = target.IndexOf((byte)'?');
            return query < 0 ? "" : Encoding.ASCII.GetString(target.Slice(query + 1));
        }
    }

    /// <summary>Whether the path equals <paramref name="path"/> (ordinal), without allocating.</summary>
    public bool PathEquals(ReadOnlySpan<byte> path)
    {
        ReadOnlySpan<byte> target = _head.Target.Of(_buffer);
        int query = target.IndexOf((byte)'?');
        return (query < 0 ? target : target.Slice(0, query)).SequenceEqual(path);
    }

    /// <summary>The value of header <paramref name="name"/> (case-insensitive); repeated headers are joined with ", ". Null when absent.</summary>
    public string? GetHeader(string name)
    {
        string? result = null;
        for (int i = 0; i < _head.HeaderCount; i++)
        {
            HeaderField field = _head.Headers[i];
            if (Ascii.EqualsIgnoreCase(field.Name.Of(_buffer), name))
            {
                string value = Encoding.Latin1.GetString(field.Value.Of(_buffer));
                result = result is null ? value : result + ", " + value;
            }
        }
        return result;
    }

    /// <summary>The subprotocols the client offered in <c>Sec-WebSocket-Protocol</c>, in its order of preference.</summary>
    public IReadOnlyList<string> RequestedSubprotocols
    {
        get
        {
            string? header = GetHeader("Sec-WebSocket-Protocol");
            if (header is null)
            {
                return [];
            }
            return header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
    }
}
