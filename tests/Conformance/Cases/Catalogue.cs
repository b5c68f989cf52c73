using System.Text;
using System.Text.RegularExpressions;

namespace Conformance.Cases;

/// <summary>How a case may be scheduled next to others.</summary>
public enum CaseLoad
{
    /// <summary>Mostly waits on timers; safe to run many side by side.</summary>
    Light,

    /// <summary>Measures the server (section 9): runs alone so timings mean something on a shared 2-core box.</summary>
    Exclusive,

    /// <summary>CPU-bound but not timed (sections 12, 13): after the light cases, one per core, so they never starve the short deadlines of 6.x.</summary>
    Busy,
}

/// <summary>One case of the catalogue: Autobahn's id, description and expectation, and a factory for a fresh run.</summary>
public sealed record CaseDefinition(string Id, string Description, string Expectation, Func<Case> Create, CaseLoad Load = CaseLoad.Light)
{
    /// <summary>Hard limit for one run, beyond the case's own timers (the performance cases wait up to 1000 s in Autobahn).</summary>
    public TimeSpan HardLimit { get; init; } = TimeSpan.FromSeconds(30);

    public int[] IdParts => Id.Split('.').Select(int.Parse).ToArray();
}

/// <summary>
/// The fuzzing-client case catalogue of the Autobahn testsuite, sections 1-7, 9, 10, 12 and 13.
/// Ids, descriptions and expectations follow autobahntestsuite/case/*.py so reports compare line by line.
/// </summary>
public static partial class Catalogue
{
    public static readonly IReadOnlyDictionary<string, string> Categories = new Dictionary<string, string>
    {
        ["1"] = "Framing",
        ["2"] = "Pings/Pongs",
        ["3"] = "Reserved Bits",
        ["4"] = "Opcodes",
        ["5"] = "Fragmentation",
        ["6"] = "UTF-8 Handling",
        ["7"] = "Close Handling",
        ["9"] = "Limits/Performance",
        ["10"] = "Misc",
        ["12"] = "WebSocket Compression (different payloads)",
        ["13"] = "WebSocket Compression (different parameters)",
    };

    private static readonly Lazy<IReadOnlyList<CaseDefinition>> s_all = new(Build);

    public static IReadOnlyList<CaseDefinition> All => s_all.Value;

    public static CaseDefinition Get(string id) => All.First(c => c.Id == id);

    /// <summary>Cases matching Autobahn-style patterns ("1.*", "5.19", "6.4.*"), in case order.</summary>
    public static IReadOnlyList<CaseDefinition> Select(IEnumerable<string> patterns)
    {
        var regexes = patterns
            .Select(p => new Regex("^" + Regex.Escape(p.Trim()).Replace("\\*", ".*") + "$"))
            .ToList();
        return All.Where(c => regexes.Any(r => r.IsMatch(c.Id))).ToList();
    }

    public static int CompareIds(string a, string b)
    {
        var x = a.Split('.').Select(int.Parse).ToArray();
        var y = b.Split('.').Select(int.Parse).ToArray();
        for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            if (x[i] != y[i])
            {
                return x[i].CompareTo(y[i]);
            }
        }
        return x.Length.CompareTo(y.Length);
    }

    private static List<CaseDefinition> Build()
    {
        var cases = new List<CaseDefinition>();
        AddFraming(cases);
        AddPingPong(cases);
        AddReservedBits(cases);
        AddOpcodes(cases);
        AddFragmentation(cases);
        AddUtf8(cases);
        AddClose(cases);
        AddLimits(cases);
        AddMisc(cases);
        AddCompression(cases);
        cases.Sort((a, b) => CompareIds(a.Id, b.Id));
        var duplicate = cases.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"case {duplicate.Key} is defined twice");
        }
        return cases;
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Repeat(byte b, int count) => Enumerable.Repeat(b, count).ToArray();

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    private static CaseDefinition Def(string id, string description, string expectation, Action<Case> onOpen) =>
        new(id, description, expectation, () => new Case(onOpen));

    /// <summary>The expectation most echo cases share: the fuzzer closes with 1000 and the close must be clean.</summary>
    private static ExpectedClose CleanNormal => new(true, [Case.Normal], true);

    /// <summary>The expectation of the protocol-error cases: the server fails the connection with 1002.</summary>
    private static ExpectedClose ServerFails(int code = Case.ProtocolError) => new(false, [code], false);
}
