using Recipes.Runtime.Vision;

namespace Recipes.ObjectDetection;

/// <summary>
/// Which default boxes are responsible for which objects (Liu et al. 2016, section 2.2, "matching strategy"): first
/// every object takes the default box that overlaps it most, so no object goes unmatched however odd its shape;
/// then every other default box whose best overlap with an object reaches the threshold (IoU 0.5) takes that
/// object too. The rest are background. A default box is matched to one object at most.
/// </summary>
public static class DefaultBoxMatching
{
    public const double DefaultThreshold = 0.5;

    /// <summary>
    /// For each default box, the index of its object, or -1 for background.
    /// </summary>
    /// <param name="objects">Object boxes as corners (x1, y1, x2, y2), fractions of the image, four values each.</param>
    /// <param name="priors">Default boxes as (cx, cy, w, h), four values each.</param>
    public static int[] Match(ReadOnlySpan<float> objects, ReadOnlySpan<float> priors, double threshold = DefaultThreshold)
    {
        int objectCount = objects.Length / 4, priorCount = priors.Length / 4;
        var matched = new int[priorCount];
        var bestOverlap = new double[priorCount];
        Array.Fill(matched, -1);
        if (objectCount == 0) return matched;

        var objectBoxes = new PixelBox[objectCount];
        for (int o = 0; o < objectCount; o++) objectBoxes[o] = new PixelBox(objects[4 * o], objects[4 * o + 1], objects[4 * o + 2], objects[4 * o + 3]);
        var bestPriorOfObject = new int[objectCount];
        var bestOverlapOfObject = new double[objectCount];
        Array.Fill(bestOverlapOfObject, -1);
        for (int p = 0; p < priorCount; p++)
        {
            var prior = priors.Slice(4 * p, 4);
            var priorBox = new PixelBox(prior[0] - prior[2] / 2, prior[1] - prior[3] / 2, prior[0] + prior[2] / 2, prior[1] + prior[3] / 2);
            for (int o = 0; o < objectCount; o++)
            {
                double overlap = BoxGeometry.IoU(objectBoxes[o], priorBox);
                // Ties go to the first object (and below, the first prior): a fixed rule keeps targets reproducible.
                if (overlap > bestOverlap[p]) { bestOverlap[p] = overlap; matched[p] = o; }
                if (overlap > bestOverlapOfObject[o]) { bestOverlapOfObject[o] = overlap; bestPriorOfObject[o] = p; }
            }
        }
        for (int p = 0; p < priorCount; p++)
            if (bestOverlap[p] < threshold) matched[p] = -1;
        // The forced matches come last so that they win; when two objects want the same prior, the later one keeps
        // it (as in the reference implementation): rare, and the other object still has its threshold matches.
        for (int o = 0; o < objectCount; o++) matched[bestPriorOfObject[o]] = o;
        return matched;
    }
}
