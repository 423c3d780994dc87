using Recipes.Runtime.Training;
using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>
/// The VOC mean average precision as a validation method of the trainer: every replica turns its images' outputs
/// into detections and keeps them, with the images' objects, as fixed-size rows (the trainer gathers the rows of all
/// replicas and processes before scoring, so the mAP is that of the whole validation set). Boxes stay fractions of
/// the image: IoU does not change when both boxes are scaled alike, so the score equals the one in pixels.
/// </summary>
public sealed class MeanAveragePrecisionValidation(IReadOnlyList<string> classNames, DefaultBoxes defaultBoxes, int maxObjects,
    SsdPostProcessing postProcessing, ApInterpolation interpolation, int detectionsPerImage = 100) : ISetValidationMethod
{
    public const string Name = "map@0.5";
    const int Values = 6; // class, score or difficult flag, x1, y1, x2, y2

    public int ValuesPerSample => (detectionsPerImage + maxObjects) * Values;

    public bool HigherIsBetter => true;

    /// <summary>The last scored set's per-class figures (for the report after the test set).</summary>
    public VocEvaluationResult? Last { get; private set; }

    public void Record(Tensor output, Tensor target, Span<double> rows)
    {
        var detections = postProcessing.Detect(output, defaultBoxes);
        float[] targets;
        using (var flat = target.contiguous()) targets = flat.data<float>().ToArray();
        int perImage = targets.Length / detections.Length;
        rows.Fill(-1);
        for (int image = 0; image < detections.Length; image++)
        {
            var row = rows.Slice(image * ValuesPerSample, ValuesPerSample);
            int slot = 0;
            foreach (var d in detections[image].Take(detectionsPerImage))
                Write(row, slot++, d.ClassIndex, d.Score, d.X1, d.Y1, d.X2, d.Y2);
            slot = detectionsPerImage;
            foreach (var o in SsdTargets.ReadObjects(targets.AsSpan(image * perImage, perImage), defaultBoxes.Count))
                Write(row, slot++, o.ClassIndex, o.Difficult ? 1 : 0, o.X1, o.Y1, o.X2, o.Y2);
        }
    }

    static void Write(Span<double> row, int slot, int classIndex, double second, double x1, double y1, double x2, double y2)
    {
        var values = row.Slice(slot * Values, Values);
        (values[0], values[1], values[2], values[3], values[4], values[5]) = (classIndex, second, x1, y1, x2, y2);
    }

    public IReadOnlyDictionary<string, double> Score(ReadOnlySpan<double> rows, int sampleCount)
    {
        var images = new List<ImageDetections>(sampleCount);
        for (int image = 0; image < sampleCount; image++)
        {
            var row = rows.Slice(image * ValuesPerSample, ValuesPerSample);
            var detections = new List<Detection>();
            var truth = new List<AnnotatedObject>();
            for (int slot = 0; slot < detectionsPerImage + maxObjects; slot++)
            {
                var v = row.Slice(slot * Values, Values);
                if (v[0] < 0) continue; // an empty slot
                var box = new PixelBox(v[2], v[3], v[4], v[5]);
                if (slot < detectionsPerImage) detections.Add(new Detection((int)v[0], (float)v[1], box));
                else truth.Add(new AnnotatedObject((int)v[0], box, Difficult: v[1] > 0.5));
            }
            images.Add(new ImageDetections(image.ToString(System.Globalization.CultureInfo.InvariantCulture), truth, detections));
        }
        Last = VocAveragePrecision.Evaluate(classNames, images, interpolation);
        var scores = new Dictionary<string, double> { [Name] = Last.MeanAveragePrecision };
        foreach (var perClass in Last.PerClass)
            if (perClass.AveragePrecision is double ap) scores[$"ap_{perClass.ClassName}"] = ap;
        return scores;
    }
}
