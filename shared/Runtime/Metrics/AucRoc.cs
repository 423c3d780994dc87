namespace Recipes.Runtime.Metrics;

/// <summary>
/// A receiver operating characteristic curve: point i is (<see cref="FalsePositiveRates"/>[i],
/// <see cref="TruePositiveRates"/>[i]) when every score at or above <see cref="Thresholds"/>[i] is called positive.
/// It starts at (0, 0) with the threshold +infinity (nothing called positive) and ends at (1, 1) at the lowest score.
/// </summary>
public sealed record RocCurve(double[] FalsePositiveRates, double[] TruePositiveRates, double[] Thresholds, double Auc);

/// <summary>
/// The area under the ROC curve of a binary score: the probability that a random positive scores higher than a
/// random negative, ties counting one half (the Mann-Whitney U statistic over positives x negatives).
/// </summary>
public static class AucRoc
{
    /// <summary>
    /// Exact AUC = P(score of a random positive &gt; score of a random negative) + 0.5 P(tie), by one sort
    /// (O(n log n)); tied scores count exactly one half per positive-negative pair, as the trapezoid over a tied
    /// group does. NaN when the labels hold only one outcome (or none): the AUC is undefined there, never 0.5.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ, or a score is NaN or infinite.</exception>
    public static double Compute(ReadOnlySpan<float> scores, ReadOnlySpan<bool> positives)
    {
        var groups = TiedGroupsByDescendingScore(scores, positives, out long positiveCount, out long negativeCount);
        return groups is null ? double.NaN : Area(groups, positiveCount, negativeCount);
    }

    /// <summary>
    /// The ROC curve through (0, 0) and (1, 1) with one point per distinct score, highest first; a group of tied
    /// scores holding positives and negatives moves diagonally (the trapezoid that counts its ties one half), so
    /// the trapezoid area under the curve equals <see cref="Compute"/>. Null when the labels hold only one outcome.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ, or a score is NaN or infinite.</exception>
    public static RocCurve? Curve(ReadOnlySpan<float> scores, ReadOnlySpan<bool> positives)
    {
        var groups = TiedGroupsByDescendingScore(scores, positives, out long positiveCount, out long negativeCount);
        if (groups is null) return null;
        int points = groups.Count + 1;
        var falsePositiveRates = new double[points];
        var truePositiveRates = new double[points];
        var thresholds = new double[points];
        thresholds[0] = double.PositiveInfinity;
        long truePositives = 0, falsePositives = 0;
        for (int g = 0; g < groups.Count; g++)
        {
            truePositives += groups[g].Positives;
            falsePositives += groups[g].Negatives;
            falsePositiveRates[g + 1] = (double)falsePositives / negativeCount;
            truePositiveRates[g + 1] = (double)truePositives / positiveCount;
            thresholds[g + 1] = groups[g].Score;
        }
        // Integer counts reach exactly 1 at the end; the AUC comes from the same counts, not from the rounded rates.
        return new RocCurve(falsePositiveRates, truePositiveRates, thresholds, Area(groups, positiveCount, negativeCount));
    }

    static double Area(List<TiedGroup> groups, long positiveCount, long negativeCount)
    {
        // Walking down the scores: the negatives of each group lie below every positive seen before it and
        // level with the group's own positives (a tie counts one half).
        double pairsWon = 0;
        long positivesAbove = 0;
        foreach (var group in groups)
        {
            pairsWon += (double)group.Negatives * positivesAbove + 0.5 * group.Negatives * group.Positives;
            positivesAbove += group.Positives;
        }
        return pairsWon / ((double)positiveCount * negativeCount);
    }

    readonly record struct TiedGroup(float Score, long Positives, long Negatives);

    /// <summary>Distinct scores from highest to lowest with how many positives and negatives hold each;
    /// null when either outcome is missing.</summary>
    static List<TiedGroup>? TiedGroupsByDescendingScore(ReadOnlySpan<float> scores, ReadOnlySpan<bool> positives,
        out long positiveCount, out long negativeCount)
    {
        if (scores.Length != positives.Length)
            throw new ArgumentException($"{scores.Length} scores but {positives.Length} labels", nameof(positives));
        positiveCount = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (!float.IsFinite(scores[i]))
                throw new ArgumentException($"score {i} is {scores[i]}: AUC needs finite scores (did the model diverge?)", nameof(scores));
            if (positives[i]) positiveCount++;
        }
        negativeCount = scores.Length - positiveCount;
        if (positiveCount == 0 || negativeCount == 0) return null;

        float[] sortedScores = scores.ToArray();
        bool[] sortedLabels = positives.ToArray();
        // Ascending sort of the negated scores = descending scores; -0 and +0 compare equal and so share a group.
        for (int i = 0; i < sortedScores.Length; i++) sortedScores[i] = -sortedScores[i];
        Array.Sort(sortedScores, sortedLabels);

        var groups = new List<TiedGroup>();
        int start = 0;
        while (start < sortedScores.Length)
        {
            int end = start;
            long groupPositives = 0;
            while (end < sortedScores.Length && sortedScores[end] == sortedScores[start])
            {
                if (sortedLabels[end]) groupPositives++;
                end++;
            }
            groups.Add(new TiedGroup(-sortedScores[start], groupPositives, end - start - groupPositives));
            start = end;
        }
        return groups;
    }
}

/// <summary>
/// Per-class AUC of a multi-label problem (one independent yes/no score per class, as for chest X-ray findings).
/// <see cref="PerClass"/>[c] is NaN for a class whose labels hold one outcome only in the set; <see cref="Mean"/>
/// is the mean over the defined classes only (NaN if none); <see cref="DefinedClasses"/> counts them.
/// </summary>
public sealed record MultiLabelAuc(IReadOnlyList<string> Names, double[] PerClass, double Mean, int DefinedClasses)
{
    /// <summary>
    /// Scores and labels are row-major [samples, classes] with <paramref name="names"/>.Count classes; a label
    /// at or above 0.5 is positive.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not fit the class count, a label is NaN, or a score is
    /// not finite (the message names the sample and class).</exception>
    public static MultiLabelAuc Compute(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        int classes = names.Count;
        if (classes == 0) throw new ArgumentException("no class names", nameof(names));
        if (scores.Length != labels.Length)
            throw new ArgumentException($"{scores.Length} scores but {labels.Length} labels", nameof(labels));
        if (scores.Length % classes != 0)
            throw new ArgumentException($"{scores.Length} scores do not split into rows of {classes} classes", nameof(scores));

        int samples = scores.Length / classes;
        var classScores = new float[samples];
        var classPositives = new bool[samples];
        var perClass = new double[classes];
        for (int c = 0; c < classes; c++)
        {
            for (int s = 0; s < samples; s++)
            {
                float score = scores[s * classes + c], label = labels[s * classes + c];
                if (!float.IsFinite(score))
                    throw new ArgumentException($"the score of sample {s} for '{names[c]}' is {score}: AUC needs finite scores", nameof(scores));
                if (float.IsNaN(label))
                    throw new ArgumentException($"the label of sample {s} for '{names[c]}' is NaN", nameof(labels));
                classScores[s] = score;
                classPositives[s] = label >= 0.5f;
            }
            perClass[c] = AucRoc.Compute(classScores, classPositives);
        }
        var defined = perClass.Where(double.IsFinite).ToArray();
        return new MultiLabelAuc(names, perClass, defined.Length == 0 ? double.NaN : defined.Average(), defined.Length);
    }

    /// <summary>The classes whose AUC is undefined in this set (only positives or only negatives).</summary>
    public IReadOnlyList<string> UndefinedClasses =>
        Enumerable.Range(0, PerClass.Length).Where(c => double.IsNaN(PerClass[c])).Select(c => Names[c]).ToArray();
}
