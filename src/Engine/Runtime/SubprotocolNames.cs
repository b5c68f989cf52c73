namespace Engine.Runtime;

/// <summary>
/// The distinct subprotocol names a server agreed to, each kept once, so a connection holds a one-byte number instead
/// of a reference (memory per idle connection: a server speaks a handful of subprotocols over all its connections).
/// Append-only: a number, once given, names the same string for the server's lifetime, so readers take no lock.
/// </summary>
internal sealed class SubprotocolNames
{
    /// <summary>
    /// Numbers 1 to 255 (0 is none). A handler that agrees to whatever its peers offer cannot grow it further: past
    /// that, <see cref="Number"/> answers 0 and the caller keeps the name itself.
    /// </summary>
    private const int MaxNames = byte.MaxValue;

    private readonly Lock _lock = new();
    private string[] _names = [""]; // at index 0: no name

    /// <summary>The name numbered <paramref name="number"/> by <see cref="Number"/>; null for 0.</summary>
    public string? this[byte number] => number == 0 ? null : Volatile.Read(ref _names)[number];

    /// <summary>The number of <paramref name="name"/>, given at its first use; 0 once all 255 are given to other names.</summary>
    public byte Number(string name)
    {
        int found = IndexOf(Volatile.Read(ref _names), name);
        if (found > 0)
        {
            return (byte)found;
        }
        lock (_lock)
        {
            string[] names = _names;
            found = IndexOf(names, name);
            if (found > 0 || names.Length > MaxNames)
            {
                return (byte)Math.Max(found, 0);
            }
            string[] grown = [.. names, name];
            Volatile.Write(ref _names, grown); // filled before it is published
            return (byte)names.Length;
        }
    }

    private static int IndexOf(string[] names, string name)
    {
        for (int i = 1; i < names.Length; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }
}
