using Recipes.Runtime.Data.Recommendation;
using Recipes.Runtime.Training;

namespace Recipes.Runtime.Metrics;

/// <summary>Errors of predicted ratings in stars: mean absolute error and root mean squared error.</summary>
public static class RatingErrors
{
    public static double MeanAbsolute(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckLengths(predicted, actual);
        double sum = 0;
        for (int i = 0; i < predicted.Length; i++) sum += Math.Abs(predicted[i] - actual[i]);
        return sum / predicted.Length;
    }

    public static double RootMeanSquared(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckLengths(predicted, actual);
        double sum = 0;
        for (int i = 0; i < predicted.Length; i++) sum += (predicted[i] - actual[i]) * (predicted[i] - actual[i]);
        return Math.Sqrt(sum / predicted.Length);
    }

    static void CheckLengths(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        if (predicted.Length != actual.Length) throw new ArgumentException($"{predicted.Length} predictions for {actual.Length} ratings");
        if (predicted.Length == 0) throw new ArgumentException("no ratings to compare");
    }
}

/// <summary>
/// MAE in stars of an explicit-rating model during training: the output is one logit per rating class, the
/// target the true class; the prediction is the most likely class (Analytics Zoo's NeuralCF convention).
/// </summary>
public sealed class MeanAbsoluteRatingError(RatingScale scale) : IValidationMethod
{
    public string Name => "mae";
    public bool HigherIsBetter => false;

    public (double Sum, long Count) Measure(Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        var classError = output.argmax(1).sub(target).abs().to(ScalarType.Float64);
        return (classError.sum().ToDouble() * scale.Step, target.shape[0]);
    }
}
