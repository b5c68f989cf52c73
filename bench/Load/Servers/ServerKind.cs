namespace Load.Servers;

/// <summary>A server under test and how to start it in echo or broadcast mode (over TLS when <see cref="Tls"/> is set).</summary>
internal sealed record ServerKind(string Name, string Label, string Dll, bool WebSocket, bool HasStats, bool CanBroadcast)
{
    /// <summary>PEM certificate and key: the server serves wss:// with them (ours and Kestrel take the same flags).</summary>
    public (string Certificate, string Key)? Tls { get; init; }

    /// <summary>Accept permessage-deflate (the deflate scenario), each server with its own defaults for it.</summary>
    public bool Compression { get; init; }

    public string[] Arguments(bool broadcast, int port)
    {
        string[] tls = Tls is { } t && Name is "ours" or "kestrel" ? ["--tls-cert", t.Certificate, "--tls-key", t.Key] : [];
        string[] deflate = !Compression ? [] : Name == "ours" ? ["--deflate", "true"] : Name == "kestrel" ? ["--compression"] : [];
        return Name switch
        {
            "ours" => [Dll, broadcast ? "--broadcast" : "--echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. tls, .. deflate],
            "kestrel" => [Dll, .. (broadcast ? new[] { "--broadcast" } : []), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. tls, .. deflate],
            _ => [Dll, "--tcp-echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        };
    }
}
