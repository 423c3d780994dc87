namespace Recipes.Runtime.Vision;

/// <summary>
/// Greedy non-maximum suppression: of boxes that overlap a better-scored kept box by more than a threshold, only
/// the better one survives. Candidates are ranked by score, highest first, ties going to the lower index so the
/// result never depends on the sort algorithm. A candidate is suppressed when its IoU with a kept box is strictly
/// greater than the threshold (as torchvision's <c>nms</c> and ssd.pytorch do): then a threshold of 1 suppresses
/// nothing, a threshold of 0 still keeps boxes that merely touch or are apart, and a pair exactly at the
/// threshold both survive. The results are indices into the input, best score first.
/// </summary>
public static class NonMaximumSuppression
{
    /// <summary>
    /// Suppresses across all boxes, whatever their class. <paramref name="candidateLimit"/> keeps only that
    /// many top-scored boxes before suppression (SSD's top-k); <paramref name="maxKept"/> stops after that many
    /// boxes are kept.
    /// </summary>
    public static int[] Select(IReadOnlyList<PixelBox> boxes, IReadOnlyList<float> scores, double iouThreshold,
        int candidateLimit = int.MaxValue, int maxKept = int.MaxValue)
    {
        Validate(boxes, scores, iouThreshold, candidateLimit, maxKept);
        var candidates = Ranked(scores, Enumerable.Range(0, boxes.Count)).Take(candidateLimit);
        return Suppress(boxes, candidates, iouThreshold, maxKept).ToArray();
    }

    /// <summary>
    /// Suppresses only among boxes of the same class (torchvision's <c>batched_nms</c>): a dog never hides a
    /// person. <paramref name="candidateLimitPerClass"/> is applied to each class before its suppression (SSD
    /// keeps the top 200 per class); the kept boxes of all classes are then ranked together by score (ties to
    /// the lower index) and cut at <paramref name="maxKept"/>.
    /// </summary>
    public static int[] SelectPerClass(IReadOnlyList<PixelBox> boxes, IReadOnlyList<float> scores, IReadOnlyList<int> classes,
        double iouThreshold, int candidateLimitPerClass = int.MaxValue, int maxKept = int.MaxValue)
    {
        Validate(boxes, scores, iouThreshold, candidateLimitPerClass, maxKept);
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count != boxes.Count) throw new ArgumentException($"{boxes.Count} boxes need {boxes.Count} class labels, not {classes.Count}", nameof(classes));
        var kept = new List<int>();
        foreach (var group in Enumerable.Range(0, boxes.Count).GroupBy(i => classes[i]))
            kept.AddRange(Suppress(boxes, Ranked(scores, group).Take(candidateLimitPerClass), iouThreshold, int.MaxValue));
        return Ranked(scores, kept).Take(maxKept).ToArray();
    }

    static List<int> Suppress(IReadOnlyList<PixelBox> boxes, IEnumerable<int> rankedCandidates, double iouThreshold, int maxKept)
    {
        var kept = new List<int>();
        foreach (int candidate in rankedCandidates)
        {
            if (kept.Count >= maxKept) break;
            bool suppressed = false;
            foreach (int better in kept)
                if (BoxGeometry.IoU(boxes[candidate], boxes[better]) > iouThreshold) { suppressed = true; break; }
            if (!suppressed) kept.Add(candidate);
        }
        return kept;
    }

    /// <summary>The indices by score descending, ties by index ascending.</summary>
    static int[] Ranked(IReadOnlyList<float> scores, IEnumerable<int> indices)
    {
        int[] order = indices.ToArray();
        Array.Sort(order, (a, b) => scores[a] != scores[b] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b));
        return order;
    }

    static void Validate(IReadOnlyList<PixelBox> boxes, IReadOnlyList<float> scores, double iouThreshold, int candidateLimit, int maxKept)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count != boxes.Count) throw new ArgumentException($"{boxes.Count} boxes need {boxes.Count} scores, not {scores.Count}", nameof(scores));
        if (!(iouThreshold is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(iouThreshold), iouThreshold, "an IoU threshold is between 0 and 1");
        ArgumentOutOfRangeException.ThrowIfNegative(candidateLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(maxKept);
        // A NaN score has no rank: the sort would order it arbitrarily, so a diverged model is reported, not hidden.
        for (int i = 0; i < scores.Count; i++)
            if (float.IsNaN(scores[i])) throw new ArgumentException($"score {i} is NaN", nameof(scores));
    }
}
