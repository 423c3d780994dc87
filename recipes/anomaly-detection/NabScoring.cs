namespace Recipes.AnomalyDetection;

/// <summary>The weights of a NAB application profile.</summary>
public sealed record NabProfile(string Name, double TruePositiveWeight, double FalsePositiveWeight, double FalseNegativeWeight)
{
    /// <summary>NAB's "standard" profile: a detected window earns up to 1, a missed one costs 1, a false positive 0.11.</summary>
    public static NabProfile Standard { get; } = new("standard", 1.0, 0.11, 1.0);

    /// <summary>
    /// NAB ignores the first 15% of a data file, at most 750 rows, while detectors learn what normal looks like.
    /// </summary>
    public static int ProbationaryRows(int seriesLength) => (int)Math.Min(Math.Floor(0.15 * seriesLength), 0.15 * 5000);
}

/// <summary>How one labelled window fared.</summary>
public sealed record NabWindowResult(AnomalyWindow Window, DateTime? FirstDetection, double Score)
{
    public bool Detected => FirstDetection is not null;
}

/// <summary>The NAB score of one detector's flags on one series.</summary>
/// <param name="WindowsTotal">Windows inside the scored range (after the probationary period).</param>
/// <param name="FalsePositives">Flags outside every window (and after the probationary period).</param>
/// <param name="RawScore">Sum of window scores and false-positive costs.</param>
/// <param name="NormalizedScore">100 (raw - null) / (perfect - null): the null detector scores 0, a perfect one 100;
/// NaN when there is no window to score.</param>
public sealed record NabScore(
    int WindowsTotal,
    int WindowsDetected,
    int FalsePositives,
    double RawScore,
    double NormalizedScore,
    IReadOnlyList<NabWindowResult> Windows)
{
    /// <summary>What the null detector (never flags) scores here: every scored window missed.</summary>
    public double NullRawScore { get; init; }
    /// <summary>What a perfect detector scores here (NAB's normalisation: the true-positive weight per window).</summary>
    public double PerfectRawScore { get; init; }
}

/// <summary>
/// NAB's window scoring (Lavin and Ahmad 2015; numenta/NAB sweeper.py) for binary flags. Inside a window only
/// the earliest flag counts: at relative position x (-1 at the window's first point, towards 0 at its last)
/// it earns tp * sigma(x) / sigma(-1) with sigma(x) = 2 / (1 + e^(5x)) - 1, so 1 at the window's start. A
/// window without flags costs fn. A flag outside every window costs fp * sigma(y), where y is its distance
/// from the end of the previous window relative to that window's width (y = 3, the full cost, before the
/// first window): a late flag just after a window costs little, one far from any window costs fp.
/// </summary>
public static class NabScorer
{
    /// <summary>NAB's scaled sigmoid: 2 / (1 + e^(5x)) - 1, and -1 from x = 3 on.</summary>
    public static double ScaledSigmoid(double relativePosition) =>
        relativePosition >= 3.0 ? -1.0 : 2.0 / (1.0 + Math.Exp(5.0 * relativePosition)) - 1.0;

    /// <param name="timestamps">The scored points, in time order.</param>
    /// <param name="flags">Whether each scored point was flagged as anomalous.</param>
    /// <param name="windows">Labelled windows; the parts outside the scored range are cut off, and windows
    /// with no scored point are left out.</param>
    /// <param name="probationaryRows">Leading points that are not scored (see <see cref="NabProfile.ProbationaryRows"/>):
    /// flags there are ignored, and so are windows that end there.</param>
    public static NabScore Score(IReadOnlyList<DateTime> timestamps, IReadOnlyList<bool> flags, IReadOnlyList<AnomalyWindow> windows,
        NabProfile profile, int probationaryRows = 0)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(profile);
        if (timestamps.Count != flags.Count) throw new ArgumentException($"{timestamps.Count} timestamps but {flags.Count} flags");
        for (int i = 1; i < timestamps.Count; i++)
            if (timestamps[i] <= timestamps[i - 1]) throw new ArgumentException("timestamps must increase");
        var ordered = windows.OrderBy(window => window.Start).ToList();
        for (int w = 1; w < ordered.Count; w++)
            if (ordered[w].Start <= ordered[w - 1].End) throw new ArgumentException($"windows overlap: {ordered[w - 1].Start:s} - {ordered[w - 1].End:s} and {ordered[w].Start:s} - {ordered[w].End:s}");
        probationaryRows = Math.Clamp(probationaryRows, 0, timestamps.Count);

        // Each window as the range of indices it covers. Windows that end within the probationary period are not
        // scored but still count as "the previous window" for the false positives after them, as in NAB's sweeper.
        var all = new List<(AnomalyWindow Window, int First, int Last)>();
        foreach (var window in ordered)
        {
            int first = LowerBound(timestamps, window.Start), last = LowerBound(timestamps, window.End.AddTicks(1)) - 1;
            if (first <= last) all.Add((window, first, last));
        }
        var spans = all.Where(span => span.Last >= probationaryRows).ToList();
        int probationWindows = all.Count - spans.Count;

        double maxTruePositive = ScaledSigmoid(-1.0);
        var windowScores = spans.Select(_ => -profile.FalseNegativeWeight).ToArray();
        var firstDetections = new DateTime?[spans.Count];
        double falsePositiveScore = 0;
        int falsePositives = 0, next = 0, previous = probationWindows - 1;
        for (int i = probationaryRows; i < timestamps.Count; i++)
        {
            while (next < spans.Count && spans[next].Last < i) { previous = probationWindows + next; next++; }
            if (!flags[i]) continue;
            if (next < spans.Count && spans[next].First <= i)
            {
                var (_, first, last) = spans[next];
                double width = last - first + 1;
                double position = -(last - i + 1) / width;
                double score = ScaledSigmoid(position) * profile.TruePositiveWeight / maxTruePositive;
                if (firstDetections[next] is null) firstDetections[next] = timestamps[i];
                windowScores[next] = Math.Max(windowScores[next], score);
            }
            else
            {
                double position = 3.0;
                if (previous >= 0)
                {
                    var (_, first, last) = all[previous];
                    int width = last - first + 1;
                    position = width > 1 ? Math.Abs(last - i) / (double)(width - 1) : 3.0;
                }
                falsePositiveScore += ScaledSigmoid(position) * profile.FalsePositiveWeight;
                falsePositives++;
            }
        }

        double raw = windowScores.Sum() + falsePositiveScore;
        double nullScore = -profile.FalseNegativeWeight * spans.Count, perfect = profile.TruePositiveWeight * spans.Count;
        double normalized = spans.Count == 0 ? double.NaN : 100 * (raw - nullScore) / (perfect - nullScore);
        var results = spans.Select((span, w) => new NabWindowResult(span.Window, firstDetections[w], windowScores[w])).ToList();
        return new NabScore(spans.Count, results.Count(result => result.Detected), falsePositives, raw, normalized, results)
        {
            NullRawScore = nullScore,
            PerfectRawScore = perfect,
        };
    }

    static int LowerBound(IReadOnlyList<DateTime> timestamps, DateTime time)
    {
        int low = 0, high = timestamps.Count;
        while (low < high)
        {
            int middle = (low + high) / 2;
            if (timestamps[middle] < time) low = middle + 1; else high = middle;
        }
        return low;
    }
}
