namespace Recipes.Mnist;

/// <summary>
/// A set of same-sized single-channel images with integer class labels, stored as one contiguous
/// byte array (image i occupies <c>Pixels[i*Height*Width .. (i+1)*Height*Width)</c>, row-major).
/// MNIST and Fashion-MNIST load into this shape.
/// </summary>
public sealed class LabeledImages
{
    public LabeledImages(byte[] pixels, byte[] labels, int height, int width, int classCount)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), "image size must be positive");
        if (pixels.Length != (long)labels.Length * height * width)
            throw new ArgumentException($"{labels.Length} labels need {(long)labels.Length * height * width} pixels, got {pixels.Length}");
        Pixels = pixels;
        Labels = labels;
        Height = height;
        Width = width;
        ClassCount = classCount;
    }

    public byte[] Pixels { get; }
    public byte[] Labels { get; }
    public int Height { get; }
    public int Width { get; }
    public int ClassCount { get; }
    public int Count => Labels.Length;
    public int PixelsPerImage => Height * Width;

    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);

    /// <summary>The first <paramref name="count"/> images (all of them when count is larger).</summary>
    public LabeledImages Take(int count)
    {
        if (count >= Count) return this;
        return new LabeledImages(Pixels.AsSpan(0, count * PixelsPerImage).ToArray(), Labels.AsSpan(0, count).ToArray(), Height, Width, ClassCount);
    }
}
