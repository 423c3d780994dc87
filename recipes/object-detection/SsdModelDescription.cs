using System.Text.Json.Serialization;
using Recipes.Runtime.Models;

namespace Recipes.ObjectDetection;

/// <summary>What a saved detector is: enough to rebuild the network and name its classes.</summary>
public sealed record SsdModelDescription(
    [property: JsonPropertyName("backbone")] string Backbone,
    [property: JsonPropertyName("classes")] IReadOnlyList<string> Classes,
    [property: JsonPropertyName("image_size")] int ImageSize,
    [property: JsonPropertyName("frozen_up_to")] string? FrozenUpTo,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("data_source")] string DataSource,
    [property: JsonPropertyName("test_map")] double? TestMap) : ISavedModelDescription
{
    public static string Recipe => "object-detection";

    /// <summary>The network's readable name, as <c>model.json</c>'s <c>architecture</c> gives it.</summary>
    [JsonIgnore]
    public string Architecture => $"SSD{ImageSize} ({Backbone})";

    public string? FindProblem() =>
        Classes.Count == 0 ? "the description lists no classes"
        : ImageSize < 1 ? $"image_size {ImageSize}: the network's input needs a size"
        : null;
}
