namespace Recipes.Runtime.Metrics;

/// <summary>
/// Errors of predicted values against actual ones, in the values' own units (stars, passengers, ...): mean absolute
/// error and root mean squared error.
/// </summary>
public static class RegressionErrors
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
        if (predicted.Length != actual.Length) throw new ArgumentException($"{predicted.Length} predictions for {actual.Length} actual values");
        if (predicted.Length == 0) throw new ArgumentException("no values to compare");
    }
}
