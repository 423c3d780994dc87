namespace Recipes.Runtime.Vision;

/// <summary>Resizes to exactly width x height with antialiased bilinear filtering (the seed's ImageResize(300, 300)).</summary>
public sealed class Resize : ImageOperation
{
    public Resize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        Width = width;
        Height = height;
    }

    public int Width { get; }
    public int Height { get; }

    public override string Name => $"Resize({Width}, {Height})";

    public override ImageFrame Apply(ImageFrame image, Random random) => To(image, Width, Height);

    internal static ImageFrame To(ImageFrame image, int width, int height)
    {
        if (width == image.Width && height == image.Height) return image;
        float[] pixels = Resampler.Resize(image.Buffer, image.Width, image.Height, width, height);
        return image.Derive(width, height, pixels, PixelMapping.Scale((double)width / image.Width, (double)height / image.Height),
            $"resize {image.Width}x{image.Height} to {width}x{height}");
    }

    /// <summary>
    /// The size that makes the shorter side <paramref name="shortSide"/> unless the longer side would then
    /// exceed <paramref name="maxLongSide"/> (then the longer side is that), each side rounded to a multiple of
    /// <paramref name="multipleOf"/>.
    /// </summary>
    public static (int Width, int Height) AspectSize(int width, int height, int shortSide, int maxLongSide, int multipleOf = 1)
    {
        double scale = (double)shortSide / Math.Min(width, height);
        if (Math.Round(scale * Math.Max(width, height)) > maxLongSide) scale = (double)maxLongSide / Math.Max(width, height);
        int RoundSide(double side) => Math.Max(multipleOf, (int)Math.Round(side / multipleOf) * multipleOf);
        return (RoundSide(width * scale), RoundSide(height * scale));
    }
}

/// <summary>
/// Scales keeping the aspect ratio so the shorter side becomes <see cref="ShortSide"/>, unless the longer
/// side would exceed <see cref="MaxLongSide"/> (the seed's ImageAspectScale(200, maxSize = 3000)).
/// </summary>
public sealed class AspectScale : ImageOperation
{
    public AspectScale(int shortSide, int maxLongSide = 1000, int multipleOf = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shortSide, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLongSide, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(multipleOf, 1);
        ShortSide = shortSide;
        MaxLongSide = maxLongSide;
        MultipleOf = multipleOf;
    }

    public int ShortSide { get; }
    public int MaxLongSide { get; }
    public int MultipleOf { get; }

    public override string Name => $"AspectScale({ShortSide}, max {MaxLongSide})";

    public override ImageFrame Apply(ImageFrame image, Random random)
    {
        var (width, height) = Resize.AspectSize(image.Width, image.Height, ShortSide, MaxLongSide, MultipleOf);
        return Resize.To(image, width, height);
    }
}

/// <summary>
/// <see cref="AspectScale"/> with the shorter side drawn at random from a list of sizes (the seed's
/// ImageRandomAspectScale([100, 300])): multi-scale training.
/// </summary>
public sealed class RandomAspectScale : ImageOperation
{
    readonly int[] _shortSides;

    public RandomAspectScale(IReadOnlyList<int> shortSides, int maxLongSide = 1000, int multipleOf = 1)
    {
        ArgumentNullException.ThrowIfNull(shortSides);
        if (shortSides.Count == 0 || shortSides.Any(side => side < 1)) throw new ArgumentException("give at least one positive short-side size", nameof(shortSides));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLongSide, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(multipleOf, 1);
        _shortSides = [.. shortSides];
        MaxLongSide = maxLongSide;
        MultipleOf = multipleOf;
    }

    public IReadOnlyList<int> ShortSides => _shortSides;
    public int MaxLongSide { get; }
    public int MultipleOf { get; }

    public override string Name => $"RandomAspectScale([{string.Join(", ", _shortSides)}], max {MaxLongSide})";

    public override ImageFrame Apply(ImageFrame image, Random random)
    {
        int shortSide = _shortSides[random.Next(_shortSides.Length)];
        var (width, height) = Resize.AspectSize(image.Width, image.Height, shortSide, MaxLongSide, MultipleOf);
        return Resize.To(image, width, height);
    }
}
