namespace Recipes.AnomalyDetection;

/// <summary>
/// Standardises each column to mean 0 and standard deviation 1, like scikit-learn's StandardScaler
/// (population standard deviation; a constant column gets scale 1 so it maps to 0 rather than to NaN).
/// It is fitted on the training rows only, so nothing about the test period leaks into the features.
/// </summary>
public sealed class StandardScaler
{
    public StandardScaler(IReadOnlyList<double> means, IReadOnlyList<double> scales)
    {
        if (means.Count != scales.Count) throw new ArgumentException($"{means.Count} means but {scales.Count} scales");
        if (scales.Any(scale => !(scale > 0) || !double.IsFinite(scale))) throw new ArgumentException("every scale must be a positive finite number");
        Means = means;
        Scales = scales;
    }

    public IReadOnlyList<double> Means { get; }
    public IReadOnlyList<double> Scales { get; }

    /// <summary>Fits on rows [0, <paramref name="rowCount"/>) of <paramref name="features"/>.</summary>
    public static StandardScaler Fit(FeatureMatrix features, int rowCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rowCount, features.RowCount);
        int columns = features.ColumnCount;
        var means = new double[columns];
        var scales = new double[columns];
        for (int column = 0; column < columns; column++)
        {
            // Two passes: summing squares of raw taxi counts (~1e4) in one pass loses digits.
            double sum = 0;
            for (int row = 0; row < rowCount; row++) sum += features[row, column];
            double mean = sum / rowCount, squares = 0;
            for (int row = 0; row < rowCount; row++)
            {
                double deviation = features[row, column] - mean;
                squares += deviation * deviation;
            }
            double std = Math.Sqrt(squares / rowCount);
            means[column] = mean;
            scales[column] = std > 0 ? std : 1;
        }
        return new StandardScaler(means, scales);
    }

    public FeatureMatrix Transform(FeatureMatrix features)
    {
        if (features.ColumnCount != Means.Count)
            throw new ArgumentException($"the scaler was fitted on {Means.Count} columns, these features have {features.ColumnCount}");
        var scaled = new double[features.Values.Length];
        int columns = features.ColumnCount;
        for (int i = 0; i < scaled.Length; i++) scaled[i] = (features.Values[i] - Means[i % columns]) / Scales[i % columns];
        return new FeatureMatrix(features.ColumnNames, scaled);
    }

    /// <summary>Maps a standardised value of <paramref name="column"/> back to the original units.</summary>
    public double Unscale(int column, double scaled) => scaled * Scales[column] + Means[column];
}
