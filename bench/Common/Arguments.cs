using System.Globalization;

namespace Bench;

/// <summary>Command-line flags of the benchmark programs: <c>--name</c> switches and <c>--name value</c> pairs.</summary>
internal sealed class Arguments(string[] args)
{
    public bool Has(string name) => args.Contains(name);

    public string? Get(string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
