using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>
/// From the network's raw output to detections (the paper's inference, section 3): softmax over the classes of
/// each default box, decode its offsets into a box, then per class keep the boxes scoring at least
/// <see cref="MinimumScore"/>, the best <see cref="CandidatesPerClass"/> of them, and suppress any box overlapping a
/// better one of the same class by more than <see cref="OverlapThreshold"/> IoU (non-maximum suppression); finally
/// the best <see cref="MaxDetections"/> of all classes. A low minimum score is right for evaluation (the VOC metric
/// rewards ranking, not a threshold); pictures apply their own threshold.
/// </summary>
public sealed record SsdPostProcessing
{
    public double MinimumScore { get; init; } = 0.01;
    public int CandidatesPerClass { get; init; } = 200;
    public double OverlapThreshold { get; init; } = 0.45;
    public int MaxDetections { get; init; } = 200;

    /// <summary>A detection with its box as fractions of the image (x1, y1, x2, y2), clipped to it.</summary>
    public readonly record struct RelativeDetection(int ClassIndex, float Score, float X1, float Y1, float X2, float Y2)
    {
        public Detection InPixels(int width, int height) => new(ClassIndex, Score, new PixelBox(X1 * width, Y1 * height, X2 * width, Y2 * height));
    }

    /// <summary>The detections of each image of a batch of network outputs [N, default boxes, 4 + classes + 1].</summary>
    public List<RelativeDetection>[] Detect(Tensor output, DefaultBoxes defaultBoxes)
    {
        long n = output.shape[0], priors = output.shape[1], values = output.shape[2];
        int classes = (int)values - 4;
        float[] offsets, probabilities;
        using (var scope = NewDisposeScope())
        {
            offsets = output[.., .., ..4].contiguous().data<float>().ToArray();
            probabilities = output[.., .., 4..].softmax(2).contiguous().data<float>().ToArray();
        }
        var results = new List<RelativeDetection>[n];
        Parallel.For(0, (int)n, image => results[image] = DetectOne(
            offsets.AsSpan((int)(image * priors * 4), (int)(priors * 4)),
            probabilities.AsSpan((int)(image * priors * classes), (int)(priors * classes)), classes, defaultBoxes));
        return results;
    }

    List<RelativeDetection> DetectOne(ReadOnlySpan<float> offsets, ReadOnlySpan<float> probabilities, int classes, DefaultBoxes defaultBoxes)
    {
        int priors = defaultBoxes.Count;
        var decoded = new PixelBox[priors];
        var priorBoxes = defaultBoxes.CentreForm.AsSpan();
        for (int p = 0; p < priors; p++)
        {
            var (x1, y1, x2, y2) = BoxEncoding.Decode(offsets.Slice(4 * p, 4), priorBoxes.Slice(4 * p, 4));
            decoded[p] = new PixelBox(Math.Clamp(x1, 0, 1), Math.Clamp(y1, 0, 1), Math.Clamp(x2, 0, 1), Math.Clamp(y2, 0, 1));
        }
        var kept = new List<RelativeDetection>();
        for (int c = 1; c < classes; c++) // 0 is background
        {
            var candidates = new List<int>();
            for (int p = 0; p < priors; p++)
                if (probabilities[p * classes + c] >= MinimumScore && decoded[p].Width > 0 && decoded[p].Height > 0) candidates.Add(p);
            if (candidates.Count == 0) continue;
            var boxes = new PixelBox[candidates.Count];
            var scores = new float[candidates.Count];
            for (int i = 0; i < candidates.Count; i++) (boxes[i], scores[i]) = (decoded[candidates[i]], probabilities[candidates[i] * classes + c]);
            foreach (int index in NonMaximumSuppression.Select(boxes, scores, OverlapThreshold, candidateLimit: CandidatesPerClass))
            {
                var box = boxes[index];
                kept.Add(new RelativeDetection(c - 1, scores[index], (float)box.Left, (float)box.Top, (float)box.Right, (float)box.Bottom));
            }
        }
        // Best first; equal scores in class, then box order, so the list is the same on every run.
        return kept.OrderByDescending(d => d.Score).Take(MaxDetections).ToList();
    }
}
