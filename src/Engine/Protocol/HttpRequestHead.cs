namespace Engine.Protocol;

/// <summary>
/// An HTTP/1.1 request head parsed in place: every field is an offset into the receive buffer it came from.
/// Header names and values become strings only when someone asks (<see cref="RequestHead"/>).
/// </summary>
internal struct HttpRequestHead
{
    /// <summary>More header lines than this get 431; browsers send about 15.</summary>
    public const int MaxHeaders = 64;

    public Slice Method;
    public Slice Target;
    public Slice Version;
    public int HeaderCount;
    public HeaderFields Headers;
    /// <summary>Bytes of the head including the blank line; what follows is WebSocket data (or a body we ignore).</summary>
    public int Length;

    /// <summary>The first value of header <paramref name="name"/> (ASCII, case-insensitive), or false.</summary>
    public readonly bool TryGetHeader(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < HeaderCount; i++)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(Headers[i].Name.Of(buffer), name))
            {
                value = Headers[i].Value.Of(buffer);
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>How many times header <paramref name="name"/> occurs.</summary>
    public readonly int CountHeader(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> name)
    {
        int count = 0;
        for (int i = 0; i < HeaderCount; i++)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(Headers[i].Name.Of(buffer), name))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>Whether any occurrence of header <paramref name="name"/> lists <paramref name="token"/> (comma-separated, case-insensitive).</summary>
    public readonly bool HeaderHasToken(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> token)
    {
        for (int i = 0; i < HeaderCount; i++)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(Headers[i].Name.Of(buffer), name)
                && HttpTokens.ListContains(Headers[i].Value.Of(buffer), token))
            {
                return true;
            }
        }
        return false;
    }
}
