namespace Recipes.Runtime.Vision;

/// <summary>
/// Exact measures of <see cref="PixelBox"/>es in edge coordinates (the image spans 0..width): area, overlap,
/// intersection over union, clipping and centres. A box whose right edge is left of its left edge (or bottom
/// above top) is empty: its area is 0, never negative, so no measure built on it can turn negative or NaN.
/// </summary>
public static class BoxGeometry
{
    /// <summary>Width x height, or 0 for an empty or inverted box.</summary>
    public static double Area(PixelBox box) => Math.Max(0, box.Width) * Math.Max(0, box.Height);

    /// <summary>The area the two boxes share (0 when they only touch or are apart).</summary>
    public static double IntersectionArea(PixelBox a, PixelBox b)
    {
        double width = Math.Min(a.Right, b.Right) - Math.Max(a.Left, b.Left);
        double height = Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Top, b.Top);
        return width > 0 && height > 0 ? width * height : 0;
    }

    /// <summary>
    /// Intersection over union (Jaccard overlap), in 0..1. Two empty boxes have no union: their IoU is 0, not
    /// NaN, so an empty box never suppresses or matches anything.
    /// </summary>
    public static double IoU(PixelBox a, PixelBox b)
    {
        double intersection = IntersectionArea(a, b);
        double union = Area(a) + Area(b) - intersection;
        return union > 0 ? intersection / union : 0;
    }

    /// <summary>The box with every edge clamped into 0..width and 0..height; a box wholly outside becomes empty.</summary>
    public static PixelBox Clip(PixelBox box, double width, double height) =>
        new(Math.Clamp(box.Left, 0, width), Math.Clamp(box.Top, 0, height), Math.Clamp(box.Right, 0, width), Math.Clamp(box.Bottom, 0, height));

    /// <summary>The middle of the box.</summary>
    public static (double X, double Y) Centre(PixelBox box) => ((box.Left + box.Right) / 2, (box.Top + box.Bottom) / 2);

    /// <summary>
    /// The mapping that undoes <paramref name="mapping"/>: with a frame's <see cref="RgbFrame.FromSource"/> it
    /// takes boxes found in the frame (detections in a resized image) back to the source image.
    /// </summary>
    public static PixelMapping Invert(PixelMapping mapping)
    {
        if (mapping.ScaleX == 0 || mapping.ScaleY == 0) throw new ArgumentException($"the mapping {mapping} collapses an axis and has no inverse", nameof(mapping));
        return new PixelMapping(1 / mapping.ScaleX, 1 / mapping.ScaleY, -mapping.OffsetX / mapping.ScaleX, -mapping.OffsetY / mapping.ScaleY);
    }
}
