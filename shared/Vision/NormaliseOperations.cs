namespace Recipes.Runtime.Vision;

/// <summary>
/// (value - mean) / std per channel, means and stds on the 0..255 scale of the pixels (the seed's
/// ImageChannelNormalize). ImageNet's 0.485/0.456/0.406 and 0.229/0.224/0.225 are <see cref="ImageNet"/>.
/// </summary>
public sealed class ChannelNormalise : ImageOperation
{
    readonly float[] _means;
    readonly float[] _stds;

    public ChannelNormalise(float meanRed, float meanGreen, float meanBlue, float stdRed = 1, float stdGreen = 1, float stdBlue = 1)
    {
        if (!(stdRed > 0 && stdGreen > 0 && stdBlue > 0)) throw new ArgumentException($"standard deviations {stdRed}/{stdGreen}/{stdBlue} must be positive");
        _means = [meanRed, meanGreen, meanBlue];
        _stds = [stdRed, stdGreen, stdBlue];
    }

    /// <summary>The ImageNet statistics every torchvision backbone was trained with, scaled to 0..255.</summary>
    public static ChannelNormalise ImageNet { get; } = new(0.485f * 255, 0.456f * 255, 0.406f * 255, 0.229f * 255, 0.224f * 255, 0.225f * 255);

    public IReadOnlyList<float> Means => _means;
    public IReadOnlyList<float> Stds => _stds;

    public override string Name =>
        $"ChannelNormalise({Format(_means[0])}/{Format(_means[1])}/{Format(_means[2])}, {Format(_stds[0])}/{Format(_stds[1])}/{Format(_stds[2])})";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        float r = 1 / _stds[0], g = 1 / _stds[1], b = 1 / _stds[2];
        for (int i = 0; i < image.ValueCount; i += RgbFrame.Channels)
        {
            pixels[i] = (source[i] - _means[0]) * r;
            pixels[i + 1] = (source[i + 1] - _means[1]) * g;
            pixels[i + 2] = (source[i + 2] - _means[2]) * b;
        }
        return image.WithPixels(pixels, "channel normalised");
    }
}

/// <summary>
/// Subtracts a mean per pixel and channel (the seed's ImagePixelNormalize): a mean image of the same size,
/// height x width x 3 in RGB order, typically the average of the training images after resizing.
/// </summary>
public sealed class PixelNormalise : ImageOperation
{
    readonly float[] _means;

    public PixelNormalise(int width, int height, float[] means)
    {
        ArgumentNullException.ThrowIfNull(means);
        if (means.LongLength != (long)width * height * RgbFrame.Channels)
            throw new ArgumentException($"pixel means for {width}x{height} RGB images need {(long)width * height * RgbFrame.Channels} values, not {means.LongLength}", nameof(means));
        Width = width;
        Height = height;
        _means = means;
    }

    /// <summary>Subtracts the pixels of <paramref name="meanImage"/>.</summary>
    public PixelNormalise(RgbFrame meanImage) : this(meanImage.Width, meanImage.Height, meanImage.Pixels.ToArray()) { }

    public int Width { get; }
    public int Height { get; }

    public override string Name => $"PixelNormalise({Width}x{Height} means)";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        if (image.Width != Width || image.Height != Height)
            throw new ArgumentException($"PixelNormalise has means for {Width}x{Height} images but got a {image.Width}x{image.Height} one; resize first");
        var source = image.Buffer;
        float[] pixels = RgbFrame.NewBuffer(image.ValueCount);
        for (int i = 0; i < image.ValueCount; i++) pixels[i] = source[i] - _means[i];
        return image.WithPixels(pixels, "pixel normalised");
    }
}
