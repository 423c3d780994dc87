namespace Recipes.ObjectDetection;

/// <summary>
/// What the trainer's target tensor holds for one image, [default boxes + <see cref="MaxObjects"/>, 6]:
/// <list type="bullet">
/// <item>one row per default box: the offsets (dx, dy, dw, dh) to its matched object, then its label (0 background,
/// class + 1), then 0: what the multibox loss needs;</item>
/// <item>then one row per object, padded: its corners (x1, y1, x2, y2) as fractions of the image, its label (class
/// + 1; 0 marks padding) and its difficult flag: what the mean average precision of validation needs.</item>
/// </list>
/// Matching here, in the data pipeline, runs in parallel with other images' decoding and keeps the loss simple.
/// </summary>
public sealed class SsdTargets(DefaultBoxes defaultBoxes, int maxObjects, double matchThreshold = DefaultBoxMatching.DefaultThreshold)
{
    public const int Width = 6;

    /// <summary>The label of a default box that counts neither as an object nor as background (it covers a difficult object).</summary>
    public const int Ignored = -1;

    public DefaultBoxes DefaultBoxes => defaultBoxes;
    public int MaxObjects => maxObjects;
    public int Rows => defaultBoxes.Count + maxObjects;
    public int ValuesPerImage => Rows * Width;

    /// <summary>An object in an augmented image: corners as fractions of the image, 0-based class, difficult flag.</summary>
    public readonly record struct ObjectTarget(float X1, float Y1, float X2, float Y2, int ClassIndex, bool Difficult);

    /// <summary>Writes the rows of one image into <paramref name="destination"/> (<see cref="ValuesPerImage"/> values).
    /// Difficult objects are not matched to default boxes, and default boxes that would match one are marked
    /// <see cref="Ignored"/> rather than background: the detector is neither taught nor blamed for them, as the VOC
    /// metric neither rewards nor penalises them. They are kept for evaluation.</summary>
    public void Write(IReadOnlyList<ObjectTarget> objects, Span<float> destination)
    {
        if (objects.Count > maxObjects)
            throw new ArgumentException($"an image has {objects.Count} objects; the targets have room for {maxObjects}");
        destination.Clear();
        var taught = objects.Where(o => !o.Difficult).ToList();
        var corners = new float[taught.Count * 4];
        for (int o = 0; o < taught.Count; o++)
            (corners[4 * o], corners[4 * o + 1], corners[4 * o + 2], corners[4 * o + 3]) = (taught[o].X1, taught[o].Y1, taught[o].X2, taught[o].Y2);
        var priors = defaultBoxes.CentreForm;
        int[] matched = DefaultBoxMatching.Match(corners, priors, matchThreshold);
        for (int p = 0; p < matched.Length; p++)
        {
            if (matched[p] < 0) continue;
            var row = destination.Slice(p * Width, Width);
            var (dx, dy, dw, dh) = BoxEncoding.Encode(corners.AsSpan(4 * matched[p], 4), priors.AsSpan(4 * p, 4));
            (row[0], row[1], row[2], row[3], row[4]) = (dx, dy, dw, dh, taught[matched[p]].ClassIndex + 1);
        }
        var difficult = objects.Where(o => o.Difficult).ToList();
        if (difficult.Count > 0)
        {
            var hard = new float[difficult.Count * 4];
            for (int o = 0; o < difficult.Count; o++)
                (hard[4 * o], hard[4 * o + 1], hard[4 * o + 2], hard[4 * o + 3]) = (difficult[o].X1, difficult[o].Y1, difficult[o].X2, difficult[o].Y2);
            int[] near = DefaultBoxMatching.Match(hard, priors, matchThreshold);
            for (int p = 0; p < near.Length; p++)
                if (near[p] >= 0 && matched[p] < 0) destination[p * Width + 4] = Ignored;
        }
        for (int o = 0; o < objects.Count; o++)
        {
            var row = destination.Slice((defaultBoxes.Count + o) * Width, Width);
            var item = objects[o];
            (row[0], row[1], row[2], row[3], row[4], row[5]) = (item.X1, item.Y1, item.X2, item.Y2, item.ClassIndex + 1, item.Difficult ? 1 : 0);
        }
    }

    /// <summary>The objects written by <see cref="Write"/>, read back from one image's rows.</summary>
    public static List<ObjectTarget> ReadObjects(ReadOnlySpan<float> rows, int defaultBoxCount)
    {
        var objects = new List<ObjectTarget>();
        for (int r = defaultBoxCount; r < rows.Length / Width; r++)
        {
            var row = rows.Slice(r * Width, Width);
            if (row[4] < 0.5f) continue;
            objects.Add(new ObjectTarget(row[0], row[1], row[2], row[3], (int)MathF.Round(row[4]) - 1, row[5] > 0.5f));
        }
        return objects;
    }
}
