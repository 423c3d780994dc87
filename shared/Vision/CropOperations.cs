namespace Recipes.Runtime.Vision;

/// <summary>
/// Crops copy a window of the image. <see cref="CenterCrop"/> and <see cref="RandomCrop"/> promise their size:
/// along a side where the image is shorter than the window, the image is centred and the rest padded with
/// zeros (torchvision's CenterCrop), so a 5:1 panorama or a 1x1 icon still yields a window-sized frame that
/// batches with the others. <see cref="FixedCrop"/> names a window in image coordinates and is clipped to the
/// image (the seed's isClip = true).
/// </summary>
public abstract class CropOperation : ImageOperation
{
    /// <summary>Copies the window [left, left+width) x [top, top+height), clipped to the image.</summary>
    internal static RgbFrame Crop(RgbFrame image, int left, int top, int width, int height, string kind)
    {
        int x0 = Math.Clamp(left, 0, image.Width - 1), y0 = Math.Clamp(top, 0, image.Height - 1);
        int x1 = Math.Clamp(left + width, x0 + 1, image.Width), y1 = Math.Clamp(top + height, y0 + 1, image.Height);
        int cropWidth = x1 - x0, cropHeight = y1 - y0;
        if (cropWidth == image.Width && cropHeight == image.Height) return image;
        const int channels = RgbFrame.Channels;
        float[] pixels = RgbFrame.NewBuffer(cropWidth * cropHeight * channels);
        var source = image.Buffer;
        for (int y = 0; y < cropHeight; y++)
            Array.Copy(source, ((y0 + y) * image.Width + x0) * channels, pixels, y * cropWidth * channels, cropWidth * channels);
        return image.Derive(cropWidth, cropHeight, pixels, PixelMapping.Shift(-x0, -y0), $"{kind} {cropWidth}x{cropHeight} at ({x0}, {y0})");
    }

    /// <summary>
    /// Exactly width x height: the window [left, left+width) x [top, top+height) of the image, where a negative
    /// offset or a window reaching past the image leaves zeros (black before normalisation) outside it.
    /// </summary>
    internal static RgbFrame CropOrPad(RgbFrame image, int left, int top, int width, int height, string kind)
    {
        if (left >= 0 && top >= 0 && left + width <= image.Width && top + height <= image.Height)
            return Crop(image, left, top, width, height, kind);
        const int channels = RgbFrame.Channels;
        float[] pixels = RgbFrame.NewBuffer(width * height * channels);
        Array.Clear(pixels, 0, width * height * channels); // pooled buffers hold old values
        // The part of the window that the image covers, in image coordinates.
        int x0 = Math.Max(left, 0), x1 = Math.Min(left + width, image.Width);
        int y0 = Math.Max(top, 0), y1 = Math.Min(top + height, image.Height);
        var source = image.Buffer;
        if (x1 > x0)
            for (int y = y0; y < y1; y++)
                Array.Copy(source, (y * image.Width + x0) * channels, pixels, ((y - top) * width + (x0 - left)) * channels, (x1 - x0) * channels);
        return image.Derive(width, height, pixels, PixelMapping.Shift(-left, -top),
            $"{kind} {width}x{height} at ({left}, {top}), padded from {image.Width}x{image.Height}");
    }

    /// <summary>The offset that centres a window of <paramref name="window"/> pixels on a side of <paramref name="side"/> (negative: padding).</summary>
    internal static int Centred(int side, int window) => (int)Math.Floor((side - window) / 2.0);
}

/// <summary>
/// The width x height window in the middle of the image (the seed's ImageCenterCrop(200, 200)); an image
/// narrower or shorter than the window is centred in it and padded with zeros, so the output is always
/// width x height.
/// </summary>
public sealed class CenterCrop : CropOperation
{
    public CenterCrop(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        Width = width;
        Height = height;
    }

    public int Width { get; }
    public int Height { get; }

    public override string Name => $"CenterCrop({Width}, {Height})";

    public override RgbFrame Apply(RgbFrame image, Random random) =>
        CropOrPad(image, Centred(image.Width, Width), Centred(image.Height, Height), Width, Height, "center crop");
}

/// <summary>
/// A width x height window at a uniformly random position inside the image (the seed's ImageRandomCrop(200, 200));
/// along a side where the image is shorter than the window it is centred and padded with zeros, so the output
/// is always width x height.
/// </summary>
public sealed class RandomCrop : CropOperation
{
    public RandomCrop(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        Width = width;
        Height = height;
    }

    public int Width { get; }
    public int Height { get; }

    public override string Name => $"RandomCrop({Width}, {Height})";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        // Both draws are made whatever the size, so the ops after this one draw the same numbers.
        int left = random.Next(Math.Max(0, image.Width - Width) + 1);
        int top = random.Next(Math.Max(0, image.Height - Height) + 1);
        if (image.Width < Width) left = Centred(image.Width, Width);
        if (image.Height < Height) top = Centred(image.Height, Height);
        return CropOrPad(image, left, top, Width, Height, "random crop");
    }
}

/// <summary>
/// The window from (x1, y1) to (x2, y2), in pixels or, when <see cref="Normalised"/>, as fractions of the width
/// and height (the seed's ImageFixedCrop(0, 0, 200, 200, normalized = false)).
/// </summary>
public sealed class FixedCrop : CropOperation
{
    public FixedCrop(double x1, double y1, double x2, double y2, bool normalised = false)
    {
        if (!(x1 < x2 && y1 < y2)) throw new ArgumentException($"crop ({x1}, {y1})-({x2}, {y2}) is empty: x1 < x2 and y1 < y2 are needed");
        if (x1 < 0 || y1 < 0 || (normalised && (x2 > 1 || y2 > 1)))
            throw new ArgumentException($"crop ({x1}, {y1})-({x2}, {y2}) lies outside the image");
        X1 = x1; Y1 = y1; X2 = x2; Y2 = y2;
        Normalised = normalised;
    }

    public double X1 { get; }
    public double Y1 { get; }
    public double X2 { get; }
    public double Y2 { get; }
    public bool Normalised { get; }

    public override string Name => $"FixedCrop({Format(X1)}, {Format(Y1)}, {Format(X2)}, {Format(Y2)}{(Normalised ? ", normalised" : "")})";

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        double scaleX = Normalised ? image.Width : 1, scaleY = Normalised ? image.Height : 1;
        int left = (int)Math.Round(X1 * scaleX), top = (int)Math.Round(Y1 * scaleY);
        int right = (int)Math.Round(X2 * scaleX), bottom = (int)Math.Round(Y2 * scaleY);
        return Crop(image, left, top, Math.Max(1, right - left), Math.Max(1, bottom - top), "fixed crop");
    }
}
