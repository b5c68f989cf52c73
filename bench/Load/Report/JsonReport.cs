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
            ResultJson.WriteInfo(w, results);
            w.WriteStartArray("rows");
            foreach (var row in results.Rows)
            {
                w.WriteStartObject();
                ResultJson.WriteRowMeasurements(w, row, "servers", null);
                ResultJson.Number(w, "oursOverKestrel", row.RatioOf("ours", "kestrel"));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            ResultJson.WriteNotes(w, results);
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

}
