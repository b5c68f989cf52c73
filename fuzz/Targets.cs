using System.Diagnostics.CodeAnalysis;

namespace Engine.Fuzz;

/// <summary>The fuzz targets by name (fuzz/run.sh and the corpus directories use these names).</summary>
internal static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<ReadOnlySpan<byte>>> All = new Dictionary<string, Action<ReadOnlySpan<byte>>>
    {
        ["session"] = SessionTarget.Run,
        ["handshake"] = HandshakeTarget.Run,
        ["transport"] = TransportTarget.Run,
    };

    public static bool TryGet(string name, [NotNullWhen(true)] out Action<ReadOnlySpan<byte>>? target) => All.TryGetValue(name, out target);
}
