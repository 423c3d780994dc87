using System.Globalization;
using System.Text;
using System.Text.Json;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;

namespace Recipes.AnomalyDetection;

/// <summary>A labelled anomaly window: every timestamp from <paramref name="Start"/> to <paramref name="End"/>, both included.</summary>
public sealed record AnomalyWindow(DateTime Start, DateTime End)
{
    public DateTime End { get; } = End >= Start ? End : throw new ArgumentException($"window end {End:s} is before its start {Start:s}");

    public bool Contains(DateTime time) => time >= Start && time <= End;
}

/// <summary>
/// NAB's labels format, <c>labels/combined_windows.json</c>: an object whose keys are data files relative to
/// NAB's data folder (<c>"realKnownCause/nyc_taxi.csv"</c>) and whose values are lists of
/// <c>["start", "end"]</c> timestamp pairs (<c>"2014-10-30 15:30:00.000000"</c>).
/// </summary>
public static class NabWindowsFile
{
    public const string TimestampFormat = "yyyy-MM-dd HH:mm:ss.ffffff";

    static readonly string[] AcceptedTimestampFormats = ["yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss"];

    public static IReadOnlyDictionary<string, IReadOnlyList<AnomalyWindow>> Read(string path)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "no such file");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException error)
        {
            throw new DataFileException(path, $"not valid JSON ({error.Message})", error);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFileException(path, $"expected an object of file name -> windows, found {Describe(document.RootElement.ValueKind)}");
            var windows = new Dictionary<string, IReadOnlyList<AnomalyWindow>>(StringComparer.Ordinal);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Array)
                    throw new DataFileException(path, $"\"{entry.Name}\": expected a list of [start, end] pairs, found {Describe(entry.Value.ValueKind)}");
                var list = new List<AnomalyWindow>();
                int index = 0;
                foreach (var pair in entry.Value.EnumerateArray())
                {
                    string where = $"\"{entry.Name}\" window {index + 1}";
                    if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
                        throw new DataFileException(path, $"{where}: expected [start, end], found {(pair.ValueKind == JsonValueKind.Array ? $"{pair.GetArrayLength()} items" : Describe(pair.ValueKind))}");
                    DateTime start = ParseTimestamp(path, where, pair[0]), end = ParseTimestamp(path, where, pair[1]);
                    if (end < start) throw new DataFileException(path, $"{where}: ends ({pair[1].GetString()}) before it starts ({pair[0].GetString()})");
                    list.Add(new AnomalyWindow(start, end));
                    index++;
                }
                windows[entry.Name] = list;
            }
            return windows;
        }
    }

    public static void Write(string path, IReadOnlyDictionary<string, IReadOnlyList<AnomalyWindow>> windows)
    {
        // The same layout as NAB's own file: four-space indents, one timestamp per line.
        var json = new StringBuilder("{\n");
        int written = 0;
        foreach (var (name, list) in windows.OrderBy(entry => entry.Key, StringComparer.Ordinal))
        {
            json.Append("    ").Append(JsonSerializer.Serialize(name)).Append(": [");
            for (int i = 0; i < list.Count; i++)
            {
                json.Append(i == 0 ? "\n" : ",\n")
                    .Append("        [\n")
                    .Append("            \"").Append(list[i].Start.ToString(TimestampFormat, CultureInfo.InvariantCulture)).Append("\",\n")
                    .Append("            \"").Append(list[i].End.ToString(TimestampFormat, CultureInfo.InvariantCulture)).Append("\"\n")
                    .Append("        ]");
            }
            json.Append(list.Count > 0 ? "\n    ]" : "]").Append(++written < windows.Count ? ",\n" : "\n");
        }
        json.Append("}\n");
        AtomicFile.WriteAllText(path, json.ToString());
    }

    /// <summary>
    /// The windows of the series called <paramref name="seriesFileName"/>: the entry with exactly that key, or
    /// the one key ending in <c>/seriesFileName</c> (NAB keys carry the category folder). Null when the file has
    /// no such entry; an error when more than one key matches.
    /// </summary>
    public static IReadOnlyList<AnomalyWindow>? For(IReadOnlyDictionary<string, IReadOnlyList<AnomalyWindow>> windows, string seriesFileName, string labelsPath)
    {
        if (windows.TryGetValue(seriesFileName, out var exact)) return exact;
        var matches = windows.Where(entry => entry.Key.EndsWith("/" + seriesFileName, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            0 => null,
            1 => matches[0].Value,
            _ => throw new DataFileException(labelsPath, $"{matches.Count} entries match {seriesFileName}: {string.Join(", ", matches.Select(entry => entry.Key))}"),
        };
    }

    static DateTime ParseTimestamp(string path, string where, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String)
            throw new DataFileException(path, $"{where}: expected a timestamp string, found {Describe(element.ValueKind)}");
        string text = element.GetString()!;
        if (!DateTime.TryParseExact(text, AcceptedTimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            throw new DataFileException(path, $"{where}: '{text}' is not a timestamp like 2014-10-30 15:30:00.000000");
        return time;
    }

    static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
