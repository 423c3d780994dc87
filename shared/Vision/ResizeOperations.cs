using System.Buffers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Runtime.Vision;

/// <summary>
/// An op whose whole effect is a resize to a size it chooses from the input size. A pipeline that starts with
/// one resizes straight from the decoded bytes (<see cref="Resize.FromDecoded"/>), never holding a full-size
/// float copy of a large photograph; the result is the same as decoding first and applying the op.
/// </summary>
public interface IResizeOperation
{
    (int Width, int Height) OutputSize(int width, int height, Random random);
}

/// <summary>Resizes to exactly width x height with antialiased bilinear filtering (the seed's ImageResize(300, 300)).</summary>
public sealed class Resize : ImageOperation, IResizeOperation
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

    public (int Width, int Height) OutputSize(int width, int height, Random random) => (Width, Height);

    public override RgbFrame Apply(RgbFrame image, Random random) => To(image, Width, Height);

    internal static RgbFrame To(RgbFrame image, int width, int height)
    {
        if (width == image.Width && height == image.Height) return image;
        float[] pixels = Resampler.Resize(image.Buffer, image.Width, image.Height, width, height);
        return image.Derive(width, height, pixels, Mapping(image.Width, image.Height, width, height), Note(image.Width, image.Height, width, height));
    }

    /// <summary>A decoded image resized to width x height: the same frame as <c>To(RgbFrame.FromImage(image), width, height)</c>.</summary>
    public static RgbFrame FromDecoded(Image<Rgb24> image, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (width == image.Width && height == image.Height) return RgbFrame.FromImage(image);
        // The full-size floats live only for the resize, in a pooled buffer.
        float[] source = ArrayPool<float>.Shared.Rent(image.Width * image.Height * RgbFrame.Channels);
        try
        {
            RgbFrame.CopyPixels(image, source);
            float[] pixels = Resampler.Resize(source, image.Width, image.Height, width, height);
            return new RgbFrame(width, height, pixels, Mapping(image.Width, image.Height, width, height), [Note(image.Width, image.Height, width, height)]);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(source);
        }
    }

    static PixelMapping Mapping(int width, int height, int newWidth, int newHeight) => PixelMapping.Scale((double)newWidth / width, (double)newHeight / height);

    static string Note(int width, int height, int newWidth, int newHeight) => $"resize {width}x{height} to {newWidth}x{newHeight}";

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
public sealed class AspectScale : ImageOperation, IResizeOperation
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

    public (int Width, int Height) OutputSize(int width, int height, Random random) => Resize.AspectSize(width, height, ShortSide, MaxLongSide, MultipleOf);

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        var (width, height) = OutputSize(image.Width, image.Height, random);
        return Resize.To(image, width, height);
    }
}

/// <summary>
/// <see cref="AspectScale"/> with the shorter side drawn at random from a list of sizes (the seed's
/// ImageRandomAspectScale([100, 300])): multi-scale training.
/// </summary>
public sealed class RandomAspectScale : ImageOperation, IResizeOperation
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

    public (int Width, int Height) OutputSize(int width, int height, Random random) =>
        Resize.AspectSize(width, height, _shortSides[random.Next(_shortSides.Length)], MaxLongSide, MultipleOf);

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        var (width, height) = OutputSize(image.Width, image.Height, random);
        return Resize.To(image, width, height);
    }
}

/// <summary>
/// Scales keeping the aspect ratio so the shorter side becomes exactly <see cref="ShortSide"/>, however long the
/// longer side gets (torchvision's Resize(256) with an int): followed by a <see cref="CenterCrop"/> no larger
/// than the short side, every image yields a full crop, a 5:1 panorama as well as a 1x1 icon. Unlike
/// <see cref="AspectScale"/>, whose cap shrinks a wide image until its short side no longer fills the crop,
/// this op keeps the short side and refuses an image whose long side would pass <see cref="MaxLongSide"/>
/// (a 1x10000 strip would become 256x2,560,000 pixels, 7 GB of floats): the pipeline skips it and reports why.
/// </summary>
public sealed class ScaleShortSide : ImageOperation, IResizeOperation
{
    /// <summary>The default limit on the long side, as a multiple of the short side: a 16:1 image is still scaled.</summary>
    public const int DefaultMaxAspectRatio = 16;

    /// <param name="shortSide">The length of the shorter side after scaling.</param>
    /// <param name="maxLongSide">The longest long side accepted after scaling; default <see cref="DefaultMaxAspectRatio"/> x <paramref name="shortSide"/>.</param>
    public ScaleShortSide(int shortSide, int? maxLongSide = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shortSide, 1);
        ShortSide = shortSide;
        MaxLongSide = maxLongSide ?? checked(DefaultMaxAspectRatio * shortSide);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLongSide, shortSide, nameof(maxLongSide));
    }

    public int ShortSide { get; }
    public int MaxLongSide { get; }

    public override string Name => $"ScaleShortSide({ShortSide}, long side <= {MaxLongSide})";

    /// <summary>The scaled size; an <see cref="ImageRefusedException"/> when the long side would pass <see cref="MaxLongSide"/>.</summary>
    public (int Width, int Height) OutputSize(int width, int height, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        double scale = (double)ShortSide / Math.Min(width, height);
        double longSide = Math.Round(scale * Math.Max(width, height));
        if (longSide > MaxLongSide)
            throw new ImageRefusedException(
                $"{width}x{height} pixels (aspect {Format((double)Math.Max(width, height) / Math.Min(width, height))}:1) would scale to a long side of {longSide:0} " +
                $"for a short side of {ShortSide}, over the limit of {MaxLongSide}; not used");
        // The short side is set exactly (rounding the product could give 255 for 256).
        return width <= height
            ? (ShortSide, (int)longSide)
            : ((int)longSide, ShortSide);
    }

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        var (width, height) = OutputSize(image.Width, image.Height, random);
        return Resize.To(image, width, height);
    }
}

/// <summary>
/// An op refuses a decodable image that it cannot turn into a sensible frame (an extreme aspect ratio, say).
/// The <see cref="ImagePipeline"/> turns it into a <see cref="Data.DataFileException"/> naming the file, so the
/// image is skipped and counted like a corrupt one (or ends a strict run).
/// </summary>
public sealed class ImageRefusedException(string problem) : Exception(problem)
{
    public string Problem { get; } = problem;
}
