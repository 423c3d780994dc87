using Recipes.Runtime.Models;

namespace Recipes.AnomalyDetection;

/// <summary>What, besides the weights, is needed to use a saved <see cref="LstmForecaster"/> again: the feature columns
/// in input order, the scaler that standardised them, the window it reads and how far ahead it forecasts, and the error
/// at or above which a point was flagged.</summary>
public sealed record AnomalyModelDescription(
    IReadOnlyList<string> Features,
    IReadOnlyList<double> ScalerMeans,
    IReadOnlyList<double> ScalerScales,
    int UnrollLength,
    int Horizon,
    double Threshold) : ISavedModelDescription
{
    public static string Recipe => "anomaly-detection";

    public string? FindProblem() =>
        Features.Count == 0 ? "no feature columns"
        : ScalerMeans.Count != Features.Count || ScalerScales.Count != Features.Count
            ? $"{Features.Count} features but {ScalerMeans.Count} scaler means and {ScalerScales.Count} scales"
        : UnrollLength < 1 || Horizon < 1 ? $"unroll_length {UnrollLength} and horizon {Horizon} must be at least 1"
        : null;
}
