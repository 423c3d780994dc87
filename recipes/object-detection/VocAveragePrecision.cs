using Recipes.Runtime.Vision;

namespace Recipes.ObjectDetection;

/// <summary>How the precision-recall curve is turned into one number.</summary>
public enum ApInterpolation
{
    /// <summary>VOC2010 and later (the devkit's <c>VOCap</c>): the area under the curve after making precision
    /// non-increasing from the right, summed over every change of recall.</summary>
    AllPoints,

    /// <summary>VOC2007: the mean over the 11 recall levels 0, 0.1, ..., 1 of the highest precision at a recall at
    /// least that level (0 when no point reaches it).</summary>
    ElevenPoint,
}

/// <summary>One image's ground truth and detections, both in edge coordinates of the image.</summary>
public sealed record ImageDetections(string ImageId, IReadOnlyList<AnnotatedObject> GroundTruth, IReadOnlyList<Detection> Detections);

/// <summary>
/// The result for one class. <see cref="AveragePrecision"/> is null when the class has no non-difficult ground truth
/// (recall is undefined; the devkit would print NaN). <see cref="GroundTruthCount"/> counts non-difficult objects only,
/// <see cref="DetectionCount"/> every detection of the class, including those matched to a difficult object (which are
/// neither <see cref="TruePositives"/> nor <see cref="FalsePositives"/>). <see cref="Recall"/> and
/// <see cref="Precision"/> hold one point per detection counted as a true or false positive, in ranked order.
/// </summary>
public sealed record ClassAveragePrecision(string ClassName, double? AveragePrecision, int GroundTruthCount, int DetectionCount,
    int TruePositives, int FalsePositives, IReadOnlyList<double> Recall, IReadOnlyList<double> Precision);

/// <summary>Per-class results and their mean over the classes whose AP is defined (NaN when there is none).</summary>
public sealed record VocEvaluationResult(IReadOnlyList<ClassAveragePrecision> PerClass, double MeanAveragePrecision,
    ApInterpolation Interpolation, double IouThreshold);

/// <summary>
/// PASCAL VOC detection average precision, computed the way the VOC devkit's <c>VOCevaldet.m</c> computes it.
/// <list type="bullet">
/// <item>Per class, the detections of all images are ranked by descending confidence. Ties keep their input order
/// (images in list order, detections in their order within an image): a stable sort, as MATLAB's <c>sort</c> is.</item>
/// <item>Each detection takes the ground-truth object of its class in its image with the highest IoU; only objects whose
/// intersection with it has positive width and height are candidates, and of equal IoUs the first object wins
/// (the devkit's <c>iw&gt;0 &amp; ih&gt;0</c> and strict <c>ov&gt;ovmax</c>).</item>
/// <item>If that IoU is at least the threshold (the devkit's <c>ovmax&gt;=VOCopts.minoverlap</c>; note the widely
/// copied <c>voc_eval.py</c> uses a strict <c>&gt;</c> instead): a difficult object makes the detection neither a true
/// nor a false positive; an object not yet matched makes it a true positive and is marked matched; an object
/// already matched makes it a false positive (a duplicate). Otherwise it is a false positive.</item>
/// <item>Recall = cumulative true positives / non-difficult objects; precision = cumulative TP / (TP + FP).</item>
/// </list>
/// IoU is computed on edge coordinates. The devkit works in inclusive 1-based pixel coordinates and adds 1 to every
/// width and height; with Left = xmin - 1 and Right = xmax both give the same intersection (min(Right) - max(Left) =
/// min(xmax) - max(xmin) + 1) and the same areas, so the IoU is the same number: inclusive [1,1,10,10] and [6,6,15,15]
/// intersect in 25 pixels of a 175-pixel union in both.
/// </summary>
public static class VocAveragePrecision
{
    /// <summary>
    /// Evaluates <paramref name="images"/> for each of <paramref name="classNames"/> (class index i is
    /// <c>classNames[i]</c>). Returns the classes in the given order.
    /// </summary>
    /// <exception cref="ArgumentException">An image id appears twice (the devkit refuses these too), a class index is
    /// outside the class list, a score is NaN, or the IoU threshold is outside 0..1.</exception>
    public static VocEvaluationResult Evaluate(IReadOnlyList<string> classNames, IReadOnlyList<ImageDetections> images,
        ApInterpolation interpolation = ApInterpolation.AllPoints, double iouThreshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(images);
        if (!(iouThreshold >= 0 && iouThreshold <= 1))
            throw new ArgumentException($"the IoU threshold must lie in 0..1, not {iouThreshold}", nameof(iouThreshold));
        if (!Enum.IsDefined(interpolation)) throw new ArgumentException($"unknown interpolation {interpolation}", nameof(interpolation));
        Validate(classNames, images);

        var perClass = new ClassAveragePrecision[classNames.Count];
        for (int c = 0; c < classNames.Count; c++)
            perClass[c] = EvaluateClass(c, classNames[c], images, interpolation, iouThreshold);
        double[] defined = perClass.Where(result => result.AveragePrecision.HasValue).Select(result => result.AveragePrecision!.Value).ToArray();
        double mean = defined.Length == 0 ? double.NaN : defined.Average();
        return new VocEvaluationResult(perClass, mean, interpolation, iouThreshold);
    }

    /// <summary>
    /// Intersection over union of two boxes in edge coordinates; 0 when they do not overlap with positive width and
    /// height (also for empty boxes). Equal to the devkit's overlap of the same boxes in inclusive coordinates.
    /// </summary>
    public static double IntersectionOverUnion(PixelBox a, PixelBox b) => Overlap(a, b) ?? 0;

    // The devkit's overlap: null when the boxes do not intersect (it then never considers the pair). The arithmetic
    // follows its order (union = area a + area b - intersection) so that integer boxes give the very same doubles.
    static double? Overlap(PixelBox detection, PixelBox truth)
    {
        double width = Math.Min(detection.Right, truth.Right) - Math.Max(detection.Left, truth.Left);
        double height = Math.Min(detection.Bottom, truth.Bottom) - Math.Max(detection.Top, truth.Top);
        if (!(width > 0 && height > 0)) return null;
        double intersection = width * height;
        double union = detection.Width * detection.Height + truth.Width * truth.Height - intersection;
        return intersection / union;
    }

    static void Validate(IReadOnlyList<string> classNames, IReadOnlyList<ImageDetections> images)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            ArgumentNullException.ThrowIfNull(image);
            if (!seen.Add(image.ImageId)) throw new ArgumentException($"image \"{image.ImageId}\" appears more than once", nameof(images));
            foreach (var truth in image.GroundTruth)
                if ((uint)truth.ClassIndex >= (uint)classNames.Count)
                    throw new ArgumentException($"image \"{image.ImageId}\": ground-truth class {truth.ClassIndex} is not one of the {classNames.Count} classes", nameof(images));
            foreach (var detection in image.Detections)
            {
                if ((uint)detection.ClassIndex >= (uint)classNames.Count)
                    throw new ArgumentException($"image \"{image.ImageId}\": detection class {detection.ClassIndex} is not one of the {classNames.Count} classes", nameof(images));
                if (float.IsNaN(detection.Score))
                    throw new ArgumentException($"image \"{image.ImageId}\": a detection of class {classNames[detection.ClassIndex]} has a NaN score", nameof(images));
            }
        }
    }

    static ClassAveragePrecision EvaluateClass(int classIndex, string className, IReadOnlyList<ImageDetections> images,
        ApInterpolation interpolation, double iouThreshold)
    {
        // Ground truth of this class per image, with a matched flag per object.
        var truths = new AnnotatedObject[images.Count][];
        var matched = new bool[images.Count][];
        int positives = 0;
        var ranked = new List<(int Image, Detection Detection)>();
        for (int i = 0; i < images.Count; i++)
        {
            truths[i] = images[i].GroundTruth.Where(truth => truth.ClassIndex == classIndex).ToArray();
            matched[i] = new bool[truths[i].Length];
            positives += truths[i].Count(truth => !truth.Difficult);
            foreach (var detection in images[i].Detections)
                if (detection.ClassIndex == classIndex) ranked.Add((i, detection));
        }
        // OrderByDescending is a stable sort: equal scores stay in input order, as with MATLAB's sort(-confidence).
        var order = ranked.OrderByDescending(entry => entry.Detection.Score).ToArray();

        int truePositives = 0, falsePositives = 0;
        var recall = new List<double>(order.Length);
        var precision = new List<double>(order.Length);
        foreach (var (image, detection) in order)
        {
            double best = double.NegativeInfinity;
            int bestIndex = -1;
            for (int j = 0; j < truths[image].Length; j++)
                if (Overlap(detection.Box, truths[image][j].Box) is double overlap && overlap > best)
                {
                    best = overlap;
                    bestIndex = j;
                }

            if (best >= iouThreshold)
            {
                // A detection of a difficult object is neither rewarded nor punished: it adds no point to the curve
                // (the devkit repeats the previous point, which changes neither interpolation).
                if (truths[image][bestIndex].Difficult) continue;
                if (!matched[image][bestIndex])
                {
                    matched[image][bestIndex] = true;
                    truePositives++;
                }
                else falsePositives++;
            }
            else falsePositives++;

            recall.Add(positives == 0 ? double.NaN : (double)truePositives / positives);
            precision.Add((double)truePositives / (truePositives + falsePositives));
        }

        double? averagePrecision = positives == 0 ? null
            : interpolation == ApInterpolation.AllPoints ? AllPointsAp(recall, precision) : ElevenPointAp(recall, precision);
        // Without ground truth there is no recall axis: the curve is left empty rather than full of NaN.
        if (positives == 0)
        {
            recall.Clear();
            precision.Clear();
        }
        return new ClassAveragePrecision(className, averagePrecision, positives, order.Length, truePositives, falsePositives,
            recall, precision);
    }

    /// <summary>The devkit's <c>VOCap</c>: the curve framed by (0, 0) and (1, 0), precision made non-increasing from the
    /// right, and the precision summed over each step of recall, weighted by its size.</summary>
    static double AllPointsAp(IReadOnlyList<double> recall, IReadOnlyList<double> precision)
    {
        int n = recall.Count + 2;
        var framedRecall = new double[n];
        var framedPrecision = new double[n];
        framedRecall[n - 1] = 1;
        for (int i = 0; i < recall.Count; i++)
        {
            framedRecall[i + 1] = recall[i];
            framedPrecision[i + 1] = precision[i];
        }
        for (int i = n - 2; i >= 0; i--) framedPrecision[i] = Math.Max(framedPrecision[i], framedPrecision[i + 1]);
        double sum = 0;
        for (int i = 1; i < n; i++)
            if (framedRecall[i] != framedRecall[i - 1]) sum += (framedRecall[i] - framedRecall[i - 1]) * framedPrecision[i];
        return sum;
    }

    /// <summary>
    /// VOC2007's 11-point AP. The levels are the doubles MATLAB's <c>0:0.1:1</c> produces, which it computes from both
    /// ends (k·0.1 for k ≤ 5, 1 - (10-k)·0.1 above): all equal k/10 except the fourth, 3·0.1 = 0.30000000000000004,
    /// so a recall of exactly 0.3 (3 of 10 objects) does not reach that level in the devkit, nor here
    /// (<c>voc_eval.py</c>'s <c>np.arange</c> agrees at 0.3 but also overshoots 0.6 and 0.7). When every detection of
    /// a class found a difficult object the curve is empty and the AP is 0, where the devkit's 0/0 precisions would
    /// make its 11-point AP NaN (its all-point AP is 0 too).
    /// </summary>
    static double ElevenPointAp(IReadOnlyList<double> recall, IReadOnlyList<double> precision)
    {
        double sum = 0;
        foreach (double level in ElevenRecallLevels)
        {
            double best = 0;
            for (int i = 0; i < recall.Count; i++)
                if (recall[i] >= level) best = Math.Max(best, precision[i]);
            sum += best / 11;
        }
        return sum;
    }

    internal static readonly double[] ElevenRecallLevels =
        Enumerable.Range(0, 11).Select(k => k <= 5 ? k * 0.1 : 1 - (10 - k) * 0.1).ToArray();
}
