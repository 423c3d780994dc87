using System.Text.Json.Serialization;
using Recipes.Runtime.Models;

namespace Recipes.Xray;

/// <summary>What a saved chest X-ray model is: enough to rebuild the network, feed it images as it was trained
/// and name its outputs, without the training data.</summary>
public sealed record ChestXrayModelDescription(
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("findings")] IReadOnlyList<string> Findings,
    [property: JsonPropertyName("resize")] int Resize,
    [property: JsonPropertyName("crop")] int Crop,
    [property: JsonPropertyName("frozen_up_to")] string? FrozenUpTo,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("data_source")] string DataSource,
    [property: JsonPropertyName("test_mean_auc")] double? TestMeanAuc) : ISavedModelDescription
{
    public static string Recipe => "xray";

    public string? FindProblem() =>
        Findings.Count == 0 ? "no findings: the network's outputs have no names"
        : Crop < 1 || Resize < Crop ? $"resize {Resize} and crop {Crop}: the crop must be positive and fit the resized image"
        : null;
}
