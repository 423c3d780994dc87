using System.Text.Json;
using System.Text.Json.Nodes;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;

namespace Recipes.Runtime.Recipes;

/// <summary>
/// The machine-readable result of a recipe run, written to <c>&lt;output&gt;/metrics.json</c>: recipe, data
/// set, where the data came from, final metrics by name, epochs, workers and wall time.
/// </summary>
public sealed class RunReport
{
    public required string Recipe { get; init; }
    public required string Dataset { get; init; }
    public required DataSourceKind DataSource { get; init; }
    public required int Epochs { get; init; }
    public required int Workers { get; init; }
    public required double WallSeconds { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Anything else worth keeping (paths of outputs, sample counts, settings).</summary>
    public IReadOnlyDictionary<string, object?> Details { get; init; } = new Dictionary<string, object?>();

    public const string FileName = "metrics.json";

    public string Write(string outputFolder)
    {
        var json = new JsonObject
        {
            ["recipe"] = Recipe,
            ["dataset"] = Dataset,
            ["data_source"] = DataSource.ToMetricName(),
            ["metrics"] = new JsonObject(Metrics.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)JsonValue.Create(Finite(pair.Value))))),
            ["epochs"] = Epochs,
            ["workers"] = Workers,
            ["wall_seconds"] = Math.Round(WallSeconds, 3),
        };
        foreach (var (key, value) in Details) json[key] = JsonSerializer.SerializeToNode(value);
        string path = Path.Combine(outputFolder, FileName);
        AtomicFile.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return path;
    }

    static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
