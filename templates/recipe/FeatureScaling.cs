using static TorchSharp.torch;

namespace MyRecipe;

/// <summary>
/// Standardises each feature with the training set's mean and standard deviation, so that every input of the
/// network starts on the same scale. Saved with the model: prediction must scale new inputs the same way.
/// </summary>
public sealed record FeatureScaling(double[] Mean, double[] Std)
{
    public static FeatureScaling Fit(float[] rows, int features)
    {
        int count = rows.Length / features;
        var mean = new double[features];
        var std = new double[features];
        for (int f = 0; f < features; f++)
        {
            double sum = 0, squares = 0;
            for (int i = 0; i < count; i++) sum += rows[i * features + f];
            mean[f] = sum / count;
            for (int i = 0; i < count; i++) squares += Math.Pow(rows[i * features + f] - mean[f], 2);
            // A constant feature carries no information: leave it at 0 rather than divide by 0.
            std[f] = Math.Max(Math.Sqrt(squares / count), 1e-8);
        }
        return new FeatureScaling(mean, std);
    }

    /// <summary>The scaled rows as a [rows, features] float32 tensor.</summary>
    public Tensor Apply(float[] rows)
    {
        int features = Mean.Length;
        var scaled = new float[rows.Length];
        for (int i = 0; i < rows.Length; i++) scaled[i] = (float)((rows[i] - Mean[i % features]) / Std[i % features]);
        return tensor(scaled, new long[] { rows.Length / features, features });
    }
}
