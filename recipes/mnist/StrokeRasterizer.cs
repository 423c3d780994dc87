using System.Numerics;

namespace Recipes.Mnist;

/// <summary>
/// Paints polylines as round-ended pen strokes into a small greyscale image, anti-aliased from the
/// exact distance of each pixel centre to the stroke: full ink within the pen's radius, fading to none
/// over <c>edgeSoftness</c> pixels. That gives the soft edges MNIST has (its digits were downsampled)
/// at a fraction of the cost of supersampling.
/// </summary>
static class StrokeRasterizer
{
    /// <param name="ink">Coverage per pixel, 0 to 1, row-major <paramref name="size"/> x <paramref name="size"/>; kept at the maximum of what is painted.</param>
    /// <param name="widths">Pen width in pixels at each point of <paramref name="points"/>.</param>
    public static void Paint(Span<float> ink, int size, ReadOnlySpan<Vector2> points, ReadOnlySpan<float> widths, float edgeSoftness)
    {
        for (int i = 0; i + 1 < points.Length; i++)
            PaintSegment(ink, size, points[i], points[i + 1], (widths[i] + widths[i + 1]) / 2, edgeSoftness);
        if (points.Length == 1) PaintSegment(ink, size, points[0], points[0], widths[0], edgeSoftness);
    }

    static void PaintSegment(Span<float> ink, int size, Vector2 a, Vector2 b, float width, float edgeSoftness)
    {
        float radius = width / 2;
        float reach = radius + edgeSoftness / 2;
        float reachSquared = reach * reach;
        int left = Math.Max(0, (int)MathF.Floor(MathF.Min(a.X, b.X) - reach));
        int right = Math.Min(size - 1, (int)MathF.Ceiling(MathF.Max(a.X, b.X) + reach));
        int top = Math.Max(0, (int)MathF.Floor(MathF.Min(a.Y, b.Y) - reach));
        int bottom = Math.Min(size - 1, (int)MathF.Ceiling(MathF.Max(a.Y, b.Y) + reach));
        Vector2 along = b - a;
        float lengthSquared = along.LengthSquared();
        for (int y = top; y <= bottom; y++)
        {
            for (int x = left; x <= right; x++)
            {
                var centre = new Vector2(x + 0.5f, y + 0.5f);
                float t = lengthSquared > 0 ? Math.Clamp(Vector2.Dot(centre - a, along) / lengthSquared, 0, 1) : 0;
                float distanceSquared = Vector2.DistanceSquared(centre, a + t * along);
                if (distanceSquared >= reachSquared) continue;
                float distance = MathF.Sqrt(distanceSquared);
                float coverage = Math.Clamp((radius - distance) / edgeSoftness + 0.5f, 0, 1);
                ref float pixel = ref ink[y * size + x];
                if (coverage > pixel) pixel = coverage;
            }
        }
    }
}
