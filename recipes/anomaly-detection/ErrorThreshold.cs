namespace Recipes.AnomalyDetection;

/// <summary>Which points a threshold flags, and the threshold itself.</summary>
public sealed record FlaggedPoints(double Threshold, bool[] Flags)
{
    public int Count => Flags.Count(flag => flag);
}

/// <summary>Turns forecast errors into anomaly flags.</summary>
public static class ErrorThreshold
{
    /// <summary>
    /// The seed's rule: with n errors, k = floor(fraction * n) (at least 1); the threshold is the k-th largest
    /// error and every error at or above it is flagged, so ties at the threshold can flag more than k points.
    /// For 1,000 test points and 1% that is the 10 largest errors.
    /// </summary>
    public static FlaggedPoints TopFraction(IReadOnlyList<double> errors, double fraction)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count == 0) throw new ArgumentException("there are no errors to threshold");
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the fraction must be in (0, 1]");
        if (errors.Any(error => !double.IsFinite(error))) throw new ArgumentException("errors must be finite numbers");
        int count = Math.Max(1, (int)Math.Floor(fraction * errors.Count));
        double[] sorted = errors.ToArray();
        Array.Sort(sorted);
        double threshold = sorted[^count];
        return new FlaggedPoints(threshold, errors.Select(error => error >= threshold).ToArray());
    }
}
