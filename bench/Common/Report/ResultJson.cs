using System.Text.Json;

namespace Bench.Report;

/// <summary>The JSON pieces every benchmark's result file shares: the run's info, one row's measurements, the notes.</summary>
internal static class ResultJson
{
    /// <summary><c>"info": { key: value, ... }</c>.</summary>
    public static void WriteInfo(Utf8JsonWriter w, ResultSet results)
    {
        w.WriteStartObject("info");
        foreach (var (k, v) in results.Info)
        {
            w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// The row's identity and, under <paramref name="group"/> (servers, setups), each contender's median, min, max and
    /// samples; the caller closes the row object (after adding its ratios).
    /// </summary>
    public static void WriteRowMeasurements(Utf8JsonWriter w, ResultRow row, string group, int? sampleDigits)
    {
        w.WriteString("scenario", row.Scenario);
        w.WriteString("case", row.Cell);
        w.WriteString("metric", row.Metric);
        w.WriteString("unit", row.Unit);
        w.WriteBoolean("higherIsBetter", row.HigherIsBetter);
        w.WriteStartObject(group);
        foreach (var (name, samples) in row.Samples)
        {
            w.WriteStartObject(name);
            Number(w, "median", row.Median(name));
            Number(w, "min", row.Min(name));
            Number(w, "max", row.Max(name));
            w.WriteStartArray("samples");
            foreach (var s in samples)
            {
                if (!double.IsFinite(s))
                {
                    w.WriteNullValue();
                }
                else
                {
                    w.WriteNumberValue(sampleDigits is { } digits ? Math.Round(s, digits) : s);
                }
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary><c>"notes": [ ... ]</c>.</summary>
    public static void WriteNotes(Utf8JsonWriter w, ResultSet results)
    {
        w.WriteStartArray("notes");
        foreach (var n in results.Notes)
        {
            w.WriteStringValue(n);
        }
        w.WriteEndArray();
    }

    /// <summary>A number rounded to 3 decimals, or null when it is not finite (no samples, a ratio over zero).</summary>
    public static void Number(Utf8JsonWriter w, string name, double value)
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
