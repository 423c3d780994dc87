namespace Recipes.Runtime.Vision;

/// <summary>A box in pixel coordinates: edges, with the image spanning 0..width and 0..height.</summary>
public readonly record struct PixelBox(double Left, double Top, double Right, double Bottom)
{
    public double Width => Right - Left;
    public double Height => Bottom - Top;
}

/// <summary>
/// How a point of one image lands in another after axis-aligned geometric ops: x' = ScaleX·x + OffsetX,
/// y' = ScaleY·y + OffsetY, in edge coordinates (the image spans 0..width). Resizes scale, crops and expands
/// shift, a horizontal flip is ScaleX = -1 with OffsetX = width. Detection recipes map their boxes with it.
/// </summary>
public readonly record struct PixelMapping(double ScaleX, double ScaleY, double OffsetX, double OffsetY)
{
    public static PixelMapping Identity { get; } = new(1, 1, 0, 0);

    public static PixelMapping Shift(double dx, double dy) => new(1, 1, dx, dy);

    public static PixelMapping Scale(double sx, double sy) => new(sx, sy, 0, 0);

    /// <summary>This mapping followed by <paramref name="next"/>.</summary>
    public PixelMapping Then(PixelMapping next) =>
        new(next.ScaleX * ScaleX, next.ScaleY * ScaleY, next.ScaleX * OffsetX + next.OffsetX, next.ScaleY * OffsetY + next.OffsetY);

    public (double X, double Y) Map(double x, double y) => (ScaleX * x + OffsetX, ScaleY * y + OffsetY);

    /// <summary>The mapped box, its edges put back in order when a flip swapped them.</summary>
    public PixelBox Map(PixelBox box)
    {
        var (x1, y1) = Map(box.Left, box.Top);
        var (x2, y2) = Map(box.Right, box.Bottom);
        return new PixelBox(Math.Min(x1, x2), Math.Min(y1, y2), Math.Max(x1, x2), Math.Max(y1, y2));
    }
}
