namespace Recipes.ObjectDetection;

/// <summary>
/// How SSD writes a box relative to a default box, and back (Liu et al. 2016, eq. 2): the centre offset in units of
/// the default box's size and the log of the size ratio, each divided by a "variance" (0.1 for the centre, 0.2 for
/// the size, as in the reference implementation) so that the four numbers the network regresses have similar
/// spreads. Boxes here are fractions of the image: corners (x1, y1, x2, y2), default boxes (cx, cy, w, h).
/// </summary>
public static class BoxEncoding
{
    public const float CentreVariance = 0.1f;
    public const float SizeVariance = 0.2f;

    /// <summary>The offsets (dx, dy, dw, dh) that turn <paramref name="prior"/> (cx, cy, w, h) into the corner box.</summary>
    public static (float Dx, float Dy, float Dw, float Dh) Encode(ReadOnlySpan<float> corners, ReadOnlySpan<float> prior)
    {
        float cx = (corners[0] + corners[2]) / 2, cy = (corners[1] + corners[3]) / 2;
        float w = corners[2] - corners[0], h = corners[3] - corners[1];
        return ((cx - prior[0]) / (CentreVariance * prior[2]),
                (cy - prior[1]) / (CentreVariance * prior[3]),
                MathF.Log(w / prior[2]) / SizeVariance,
                MathF.Log(h / prior[3]) / SizeVariance);
    }

    /// <summary>The corner box (x1, y1, x2, y2) that offsets <paramref name="offsets"/> make of <paramref name="prior"/>.</summary>
    public static (float X1, float Y1, float X2, float Y2) Decode(ReadOnlySpan<float> offsets, ReadOnlySpan<float> prior)
    {
        float cx = prior[0] + offsets[0] * CentreVariance * prior[2];
        float cy = prior[1] + offsets[1] * CentreVariance * prior[3];
        // exp of a wild regression would overflow to infinity; e^10 is already 22,000 times the default box.
        float w = prior[2] * MathF.Exp(Math.Min(offsets[2] * SizeVariance, 10f));
        float h = prior[3] * MathF.Exp(Math.Min(offsets[3] * SizeVariance, 10f));
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
    }
}
