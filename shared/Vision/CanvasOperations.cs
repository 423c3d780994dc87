namespace Recipes.Runtime.Vision;

/// <summary>
/// Paints the rectangle from (startX, startY) to (endX, endY), given as fractions of the width and height, with
/// one value in every channel (the seed's ImageFiller(0, 0, 0.5, 0.5, 255) whitens the top-left quarter).
/// </summary>
public sealed class Filler : ImageOperation
{
    public Filler(double startX, double startY, double endX, double endY, float value = 255)
    {
        if (!(startX is >= 0 and <= 1 && startY is >= 0 and <= 1 && endX is >= 0 and <= 1 && endY is >= 0 and <= 1 && startX <= endX && startY <= endY))
            throw new ArgumentException($"filler rectangle ({startX}, {startY})-({endX}, {endY}) must lie in 0..1 with start <= end");
        StartX = startX; StartY = startY; EndX = endX; EndY = endY;
        Value = value;
    }

    public double StartX { get; }
    public double StartY { get; }
    public double EndX { get; }
    public double EndY { get; }
    public float Value { get; }

    public override string Name => $"Filler({Format(StartX)}, {Format(StartY)}, {Format(EndX)}, {Format(EndY)}, {Format(Value)})";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        int x0 = (int)Math.Round(StartX * image.Width), x1 = (int)Math.Round(EndX * image.Width);
        int y0 = (int)Math.Round(StartY * image.Height), y1 = (int)Math.Round(EndY * image.Height);
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        image.Pixels.CopyTo(pixels);
        const int channels = RgbFrame.Channels;
        for (int y = y0; y < y1; y++)
            pixels.AsSpan((y * image.Width + x0) * channels, (x1 - x0) * channels).Fill(Value);
        return image.WithPixels(pixels, $"filled ({x0}, {y0})-({x1}, {y1})");
    }
}

/// <summary>
/// Places the image on a larger canvas filled with the channel means, the canvas a random factor from
/// [min ratio, max ratio] larger and the image at a random offset (the seed's ImageExpand(means 123/117/104,
/// max ratio 2)): zoom-out augmentation for detection. The offset lands in <see cref="RgbFrame.FromSource"/>
/// (boxes move with it) and in the history.
/// </summary>
public sealed class Expand : ImageOperation
{
    public Expand(float meanRed = 123, float meanGreen = 117, float meanBlue = 104, double minRatio = 1, double maxRatio = 4)
    {
        if (!(minRatio >= 1 && minRatio <= maxRatio)) throw new ArgumentException($"expand ratios {minRatio}..{maxRatio} need 1 <= min <= max");
        MeanRed = meanRed; MeanGreen = meanGreen; MeanBlue = meanBlue;
        MinRatio = minRatio;
        MaxRatio = maxRatio;
    }

    public float MeanRed { get; }
    public float MeanGreen { get; }
    public float MeanBlue { get; }
    public double MinRatio { get; }
    public double MaxRatio { get; }

    public override string Name => $"Expand({Format(MeanRed)}/{Format(MeanGreen)}/{Format(MeanBlue)}, ratio {Format(MinRatio)}..{Format(MaxRatio)})";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        double ratio = Uniform(random, MinRatio, MaxRatio);
        int width = (int)(image.Width * ratio), height = (int)(image.Height * ratio);
        int left = (int)Math.Floor(Uniform(random, 0, width - image.Width + 1));
        int top = (int)Math.Floor(Uniform(random, 0, height - image.Height + 1));
        return Place(image, width, height, left, top, ratio);
    }

    internal RgbFrame Place(RgbFrame image, int width, int height, int left, int top, double ratio)
    {
        const int channels = RgbFrame.Channels;
        var canvas = RgbFrame.Filled(width, height, MeanRed, MeanGreen, MeanBlue).Buffer;
        var source = image.Buffer;
        for (int y = 0; y < image.Height; y++)
            Array.Copy(source, y * image.Width * channels, canvas, ((top + y) * width + left) * channels, image.Width * channels);
        return image.Derive(width, height, canvas, PixelMapping.Shift(left, top), $"expand x{Format(ratio)} at ({left}, {top})");
    }
}

/// <summary>Mirrors the image left to right (the seed's ImageHFlip).</summary>
public sealed class HorizontalFlip : ImageOperation
{
    public override string Name => "HorizontalFlip()";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        const int channels = RgbFrame.Channels;
        int width = image.Width;
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        for (int y = 0; y < image.Height; y++)
        {
            int row = y * width * channels;
            for (int x = 0; x < width; x++)
            {
                int from = row + x * channels, to = row + (width - 1 - x) * channels;
                pixels[to] = source[from];
                pixels[to + 1] = source[from + 1];
                pixels[to + 2] = source[from + 2];
            }
        }
        return image.Derive(width, image.Height, pixels, new PixelMapping(-1, 1, width, 0), "flipped");
    }
}
