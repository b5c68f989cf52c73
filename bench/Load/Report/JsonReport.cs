using System.Text;
using System.Text.Json;

namespace Load.Report;

/// <summary>Every sample of the run as JSON, for tooling and for comparing runs.</summary>
internal static class JsonReport
{
    public static string Render(ResultSet results)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("info");
            foreach (var (k, v) in results.Info)
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
            w.WriteStartArray("rows");
            foreach (var row in results.Rows)
            {
                w.WriteStartObject();
                w.WriteString("scenario", row.Scenario);
                w.WriteString("case", row.Cell);
                w.WriteString("metric", row.Metric);
                w.WriteString("unit", row.Unit);
                w.WriteBoolean("higherIsBetter", row.HigherIsBetter);
                w.WriteStartObject("servers");
                foreach (var (server, samples) in row.Samples)
                {
                    w.WriteStartObject(server);
                    Number(w, "median", row.Median(server));
                    Number(w, "min", row.Min(server));
                    Number(w, "max", row.Max(server));
                    w.WriteStartArray("samples");
                    foreach (var s in samples)
                    {
                        if (double.IsFinite(s))
                        {
                            w.WriteNumberValue(s);
                        }
                        else
                        {
                            w.WriteNullValue();
                        }
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                Number(w, "oursOverKestrel", row.RatioOf("ours", "kestrel"));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("notes");
            foreach (var n in results.Notes)
            {
                w.WriteStringValue(n);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Reads a file written by <see cref="Render"/> back into a result set, so the tables and chart can be redrawn.</summary>
    public static ResultSet Load(string path)
    {
        var results = new ResultSet();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        foreach (var p in root.GetProperty("info").EnumerateObject())
        {
            results.Info[p.Name] = p.Value.GetString() ?? "";
        }
        foreach (var row in root.GetProperty("rows").EnumerateArray())
        {
            foreach (var server in row.GetProperty("servers").EnumerateObject())
            {
                foreach (var sample in server.Value.GetProperty("samples").EnumerateArray())
                {
                    results.Add(row.GetProperty("scenario").GetString()!, row.GetProperty("case").GetString()!, row.GetProperty("metric").GetString()!,
                        row.GetProperty("unit").GetString()!, row.GetProperty("higherIsBetter").GetBoolean(), server.Name,
                        sample.ValueKind == JsonValueKind.Number ? sample.GetDouble() : double.NaN);
                }
            }
        }
        foreach (var n in root.GetProperty("notes").EnumerateArray())
        {
            results.Note(n.GetString() ?? "");
        }
        return results;
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, Math.Round(value, 3));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
