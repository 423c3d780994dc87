using Recipes.Runtime.Models;

namespace Recipes.TransferLearning;

/// <summary>
/// What, besides the weights, is needed to rebuild and use a saved transfer-learning classifier: the class names (in
/// the order of the head's outputs), the layer the backbone was frozen up to (which decides how the saved weights are
/// split between the frozen and the trained parts), the picture sizes of the evaluation's preprocessing, and the data
/// set it learnt.
/// </summary>
public sealed record TransferModelDescription(
    IReadOnlyList<string> Classes,
    string FreezeUpTo,
    int ResizeShortSide,
    int Crop,
    string Dataset) : ISavedModelDescription
{
    public static string Recipe => "transfer-learning";

    public string? FindProblem() =>
        Classes.Count < 2 ? $"{Classes.Count} classes: a classifier needs 2 or more"
        : Classes.Any(string.IsNullOrEmpty) ? "a class without a name"
        : string.IsNullOrEmpty(FreezeUpTo) ? "no freeze_up_to: the layer the backbone was frozen up to"
        : Crop < 1 || ResizeShortSide < Crop ? $"resize_short_side {ResizeShortSide} and crop {Crop}: the crop must be positive and fit the resized picture"
        : null;
}
