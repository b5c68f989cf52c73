namespace Conformance.Fuzzing;

/// <summary>Wire traffic of one case: octets and frames each way, frames counted per opcode (Autobahn's rx/tx stats).</summary>
public sealed class TrafficStats
{
    private long _rxOctets;
    private long _txOctets;

    public long RxOctets => Interlocked.Read(ref _rxOctets);
    public long TxOctets => Interlocked.Read(ref _txOctets);

    /// <summary>Frames received, by opcode. Written only under the connection's gate.</summary>
    public SortedDictionary<int, int> RxFrames { get; } = new();

    /// <summary>Frames sent, by opcode. Written only under the connection's gate.</summary>
    public SortedDictionary<int, int> TxFrames { get; } = new();

    internal void AddRx(int octets) => Interlocked.Add(ref _rxOctets, octets);
    internal void AddTx(int octets) => Interlocked.Add(ref _txOctets, octets);

    internal static void Count(SortedDictionary<int, int> frames, int opcode) =>
        frames[opcode] = frames.GetValueOrDefault(opcode) + 1;

    public int RxFrameCount => RxFrames.Values.Sum();
    public int TxFrameCount => TxFrames.Values.Sum();
}
