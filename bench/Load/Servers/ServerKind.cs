namespace Load.Servers;

/// <summary>A server under test and how to start it in echo or broadcast mode (over TLS when <see cref="Tls"/> is set).</summary>
internal sealed record ServerKind(string Name, string Label, string Dll, bool WebSocket, bool HasStats, bool CanBroadcast)
{
    /// <summary>PEM certificate and key: the server serves wss:// with them (ours and Kestrel take the same flags).</summary>
    public (string Certificate, string Key)? Tls { get; init; }

    /// <summary>Accept permessage-deflate (the deflate scenario), each server with its own defaults for it.</summary>
    public bool Compression { get; init; }

    /// <summary>
    /// Measured in every scenario; false for our Host on its portable transport (<c>sockets</c>), which runs only echo,
    /// latency and broadcast: its column says what Windows and macOS get (IOCP/kqueue under .NET sockets), and the other
    /// scenarios would double a full run's time on a shared box for figures the first three already show.
    /// </summary>
    public bool AllScenarios { get; init; } = true;

    /// <summary>The WebSocket path: <c>/ws</c> and <c>/kestrel</c> on bench/AspNetCorePeer (<c>--aspnet</c>), <c>/</c> elsewhere.</summary>
    public string Path { get; init; } = "/";

    /// <summary>Measured in the idle-connection (scale) scenario although not in every scenario (the <c>--aspnet</c> kinds).</summary>
    public bool Idle { get; init; }

    /// <summary>
    /// Measured in the idle-connection scenario only: the JIT build of our Host beside the Native AOT one that run.sh
    /// measures, so the one-time cost of JIT-compiled code in the idle reading shows in the same run.
    /// </summary>
    public bool OnlyIdle { get; init; }

    public string[] Arguments(bool broadcast, int port)
    {
        string[] tls = Tls is { } t && Name is "ours" or "jit" or "kestrel" or "aspnet" or "aspnet-kestrel" ? ["--tls-cert", t.Certificate, "--tls-key", t.Key] : [];
        string[] deflate = !Compression ? [] : Name is "ours" or "jit" ? ["--deflate", "true"] : Name is "kestrel" or "aspnet" or "aspnet-kestrel" ? ["--compression"] : [];
        return Name switch
        {
            "ours" or "jit" => [Dll, broadcast ? "--broadcast" : "--echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. tls, .. deflate],
            "sockets" => [Dll, broadcast ? "--broadcast" : "--echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--transport", "sockets"],
            "aspnet" or "aspnet-kestrel" => [Dll, broadcast ? "--broadcast" : "--echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. tls, .. deflate],
            "kestrel" => [Dll, .. (broadcast ? new[] { "--broadcast" } : []), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. tls, .. deflate],
            _ => [Dll, "--tcp-echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        };
    }
}
