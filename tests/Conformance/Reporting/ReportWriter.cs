using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Conformance.Cases;
using Conformance.Fuzzing;
using Conformance.Running;

namespace Conformance.Reporting;

/// <summary>
/// Writes reports/conformance/index.json (agent -> case -> outcome, shaped like Autobahn's reports/servers/index.json
/// plus description and wire summary) and index.md (per-section counts and a side-by-side case table).
/// Results merge per agent and case into an existing index.json, so separate CLI runs build one comparison.
/// </summary>
public static partial class ReportWriter
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The repository root (the folder holding Engine.sln), found upward from <paramref name="start"/>.</summary>
    public static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }

    public static string DefaultDirectory() =>
        Path.Combine(FindRepositoryRoot(AppContext.BaseDirectory), "reports", "conformance");

    /// <summary>Merges <paramref name="results"/> into the index and rewrites both report files. Returns the directory.</summary>
    public static string Write(IEnumerable<CaseResult> results, string? directory = null, string? runNote = null)
    {
        directory ??= DefaultDirectory();
        Directory.CreateDirectory(directory);
        var jsonPath = Path.Combine(directory, "index.json");
        JsonObject index;
        try
        {
            index = File.Exists(jsonPath) ? JsonNode.Parse(File.ReadAllText(jsonPath)) as JsonObject ?? new() : new();
        }
        catch (JsonException)
        {
            index = new();
        }

        foreach (var result in results)
        {
            if (index[result.Agent] is not JsonObject agent)
            {
                agent = new JsonObject();
                index[result.Agent] = agent;
            }
            agent[result.Id] = ToJson(result);
        }

        // Keep agents and cases in a stable order so diffs between runs stay readable.
        var sorted = new JsonObject();
        foreach (var agentName in OrderAgents(index.Select(kv => kv.Key)))
        {
            var cases = (JsonObject)index[agentName]!;
            var ordered = new JsonObject();
            foreach (var id in cases.Select(kv => kv.Key).Order(Comparer<string>.Create(Catalogue.CompareIds)).ToList())
            {
                ordered[id] = cases[id]!.DeepClone();
            }
            sorted[agentName] = ordered;
        }
        File.WriteAllText(jsonPath, sorted.ToJsonString(s_json));

        var all = FromJson(sorted);
        File.WriteAllText(Path.Combine(directory, "index.md"), Markdown(all, runNote));
        return directory;
    }

    private static JsonObject ToJson(CaseResult r)
    {
        var node = new JsonObject
        {
            ["behavior"] = r.Behavior,
            ["behaviorClose"] = r.BehaviorClose,
            ["duration"] = r.Duration,
            ["reportTime"] = r.ReportTime,
            ["remoteCloseCode"] = r.RemoteCloseCode,
            ["description"] = r.Description,
            ["expectation"] = r.Expectation,
            ["result"] = r.Result,
            ["resultClose"] = r.ResultClose,
            ["closedByMe"] = r.ClosedByMe,
            ["failedByMe"] = r.FailedByMe,
            ["droppedByMe"] = r.DroppedByMe,
            ["wasClean"] = r.WasClean,
            ["wasNotCleanReason"] = r.WasNotCleanReason,
            ["expected"] = r.Expected,
            ["received"] = r.Received,
            ["wire"] = JsonSerializer.SerializeToNode(r.Wire),
        };
        if (!r.Passed && r.WireLog is { Count: > 0 })
        {
            node["wireLog"] = new JsonArray(r.WireLog.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray());
        }
        return node;
    }

    private static Dictionary<string, Dictionary<string, CaseResult>> FromJson(JsonObject index)
    {
        var all = new Dictionary<string, Dictionary<string, CaseResult>>();
        foreach (var (agent, casesNode) in index)
        {
            var cases = new Dictionary<string, CaseResult>();
            foreach (var (id, n) in (JsonObject)casesNode!)
            {
                var o = (JsonObject)n!;
                var wire = o["wire"] as JsonObject;
                cases[id] = new CaseResult
                {
                    Agent = agent,
                    Id = id,
                    Description = (string?)o["description"] ?? "",
                    Expectation = (string?)o["expectation"] ?? "",
                    Behavior = (string?)o["behavior"] ?? Behavior.Failed,
                    BehaviorClose = (string?)o["behaviorClose"] ?? Behavior.Failed,
                    Result = (string?)o["result"] ?? "",
                    ResultClose = (string?)o["resultClose"] ?? "",
                    Duration = (long?)o["duration"] ?? 0,
                    ReportTime = (bool?)o["reportTime"] ?? false,
                    RemoteCloseCode = (int?)o["remoteCloseCode"],
                    Expected = (string?)o["expected"] ?? "",
                    Received = (string?)o["received"] ?? "",
                    Wire = new WireSummary((long?)wire?["RxOctets"] ?? 0, (long?)wire?["TxOctets"] ?? 0,
                        ReadFrames(wire?["RxFrames"]), ReadFrames(wire?["TxFrames"])),
                };
            }
            all[agent] = cases;
        }
        return all;
    }

    private static Dictionary<string, int> ReadFrames(JsonNode? node) =>
        node is JsonObject o ? o.ToDictionary(kv => kv.Key, kv => (int?)kv.Value ?? 0) : new();

    /// <summary>Our engine first, then Kestrel, then any other agent by name.</summary>
    private static List<string> OrderAgents(IEnumerable<string> agents) =>
        agents.OrderBy(a => a == "Engine" ? 0 : a == "Kestrel" ? 1 : 2).ThenBy(a => a, StringComparer.Ordinal).ToList();

    private static readonly string[] s_grades = [Behavior.Ok, Behavior.NonStrict, Behavior.Informational, Behavior.Unimplemented, Behavior.Failed];

    private static string Markdown(Dictionary<string, Dictionary<string, CaseResult>> all, string? runNote)
    {
        var agents = OrderAgents(all.Keys);
        var md = new StringBuilder();
        md.AppendLine("# WebSocket conformance report");
        md.AppendLine();
        md.AppendLine($"Generated {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC by `tests/Conformance`, our implementation of the Autobahn testsuite fuzzing-client catalogue (sections 1-7, 9, 10, 12, 13; case ids and descriptions as in Autobahn). Grades follow Autobahn: OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED; the close is graded separately (OK, WRONG CODE, UNCLEAN, FAILED BY CLIENT, FAILED).");
        if (runNote is not null)
        {
            md.AppendLine();
            md.AppendLine(runNote);
        }
        md.AppendLine();
        md.AppendLine("## Counts per section");
        md.AppendLine();
        md.AppendLine("| Section | Agent | Cases | " + string.Join(" | ", s_grades) + " | Close not OK |");
        md.AppendLine("|---|---|---:|" + string.Concat(s_grades.Select(_ => "---:|")) + "---:|");
        var sections = all.Values.SelectMany(c => c.Keys).Select(id => id.Split('.')[0]).Distinct().OrderBy(int.Parse).ToList();
        foreach (var section in sections.Append("all"))
        {
            foreach (var agent in agents)
            {
                var rows = all[agent].Values.Where(r => section == "all" || r.Id.Split('.')[0] == section).ToList();
                if (rows.Count == 0)
                {
                    continue;
                }
                var name = section == "all" ? "**All**" : $"{section} {Catalogue.Categories.GetValueOrDefault(section, "Misc")}";
                var closeNotOk = rows.Count(r => !Behavior.IsPass(r.BehaviorClose));
                md.AppendLine($"| {name} | {agent} | {rows.Count} | " + string.Join(" | ", s_grades.Select(g => rows.Count(r => r.Behavior == g))) + $" | {closeNotOk} |");
            }
        }

        if (agents.Count >= 2)
        {
            var a = agents[0];
            var b = agents[1];
            var differing = all[a].Keys.Intersect(all[b].Keys)
                .Where(id => RfcNotes.Differ(all[a][id], all[b][id]))
                .Order(Comparer<string>.Create(Catalogue.CompareIds)).ToList();
            md.AppendLine();
            md.AppendLine($"## Where {a} and {b} differ ({differing.Count} cases)");
            md.AppendLine();
            if (differing.Count == 0)
            {
                md.AppendLine("No case is graded differently.");
            }
            foreach (var id in differing)
            {
                md.AppendLine($"- **{id}**: {RfcNotes.Compare(all[a][id], all[b][id])}");
            }
        }

        md.AppendLine();
        md.AppendLine("## Cases");
        md.AppendLine();
        md.AppendLine("Each cell: case grade / close grade, the server's close code, and the duration where Autobahn reports it (section 9). `-` means no close code was received.");
        md.AppendLine();
        md.AppendLine("| Case | Description | " + string.Join(" | ", agents) + " |");
        md.AppendLine("|---|---|" + string.Concat(agents.Select(_ => "---|")));
        var ids = all.Values.SelectMany(c => c.Keys).Distinct().Order(Comparer<string>.Create(Catalogue.CompareIds));
        foreach (var id in ids)
        {
            var any = agents.Select(ag => all[ag].GetValueOrDefault(id)).First(r => r is not null)!;
            var cells = agents.Select(ag => all[ag].TryGetValue(id, out var r) ? Cell(r) : "missing");
            md.AppendLine($"| {id} | {Short(any.Description)} | " + string.Join(" | ", cells) + " |");
        }
        return md.ToString();
    }

    private static string Cell(CaseResult r)
    {
        var grade = r.Behavior == Behavior.Ok ? "OK" : $"**{r.Behavior}**";
        var close = Behavior.IsPass(r.BehaviorClose) ? r.BehaviorClose : $"**{r.BehaviorClose}**";
        var code = r.RemoteCloseCode?.ToString(CultureInfo.InvariantCulture) ?? "-";
        var time = r.ReportTime ? $", {r.Duration} ms" : "";
        return $"{grade} / {close} ({code}{time})";
    }

    /// <summary>Descriptions without HTML and hex dumps, cut to fit a table cell.</summary>
    private static string Short(string description)
    {
        var text = HtmlTag().Replace(description.Replace("<br>", " "), "");
        text = Whitespace().Replace(text, " ").Trim().Replace("|", "\\|");
        return text.Length <= 140 ? text : text[..137] + "...";
    }

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex HtmlTag();

    [GeneratedRegex("\\s+")]
    private static partial Regex Whitespace();
}
