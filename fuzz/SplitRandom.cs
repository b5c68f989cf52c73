namespace Engine.Fuzz;

/// <summary>
/// A tiny deterministic generator (xorshift32) seeded from the fuzz input, so the same input always splits and times
/// the same way (afl-fuzz needs stable runs) while the fuzzer still chooses the boundaries through the seed.
/// </summary>
internal struct SplitRandom(uint seed)
{
    private uint _state = seed == 0 ? 0x9E3779B9u : seed;

    /// <summary>A value in [0, <paramref name="maxInclusive"/>].</summary>
    public int Next(int maxInclusive)
    {
        _state ^= _state << 13;
        _state ^= _state >> 17;
        _state ^= _state << 5;
        return (int)(_state % (uint)(maxInclusive + 1));
    }
}
