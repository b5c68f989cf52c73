namespace Load.Servers;

/// <summary>A server under test and how to start it in echo or broadcast mode.</summary>
internal sealed record ServerKind(string Name, string Label, string Dll, bool WebSocket, bool HasStats, bool CanBroadcast)
{
    public string[] Arguments(bool broadcast, int port) => Name switch
    {
        "ours" => [Dll, broadcast ? "--broadcast" : "--echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        "kestrel" => [Dll, .. (broadcast ? new[] { "--broadcast" } : []), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        _ => [Dll, "--tcp-echo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
    };
}
