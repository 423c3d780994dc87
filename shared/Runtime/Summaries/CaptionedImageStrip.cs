using Recipes.Runtime.IO;
using SkiaSharp;

namespace Recipes.Runtime.Summaries;

/// <summary>How a caption is coloured: plain, a correct prediction (green) or a wrong one (red, with a red frame).</summary>
public enum CaptionTone { Neutral, Correct, Wrong }

/// <summary>A greyscale image (row-major bytes, 0 = black, 255 = white) with the caption to print below it.</summary>
public sealed record CaptionedImage(byte[] Pixels, int Width, int Height, string Caption, CaptionTone Tone = CaptionTone.Neutral)
{
    /// <summary>The predicted label as caption: green when right; red with the true label ("1 (true 7)") when
    /// wrong. Kept short so that class names such as "Ankle boot" fit under a small image.</summary>
    public static CaptionedImage Prediction(byte[] pixels, int width, int height, string predicted, string truth) =>
        predicted == truth
            ? new(pixels, width, height, predicted, CaptionTone.Correct)
            : new(pixels, width, height, $"{predicted} (true {truth})", CaptionTone.Wrong);
}

/// <summary>
/// Renders small greyscale images (MNIST digits, say) side by side into one PNG, each enlarged by whole pixels
/// and captioned underneath: the quickest way to see what a model got right and wrong. The layout does not
/// depend on fonts; on a machine without any, the images are drawn without captions.
/// </summary>
public static class CaptionedImageStrip
{
    public const int Padding = 8;
    public const int CaptionHeight = 22;
    const float CaptionFontSize = 14;
    const float SmallestCaptionFontSize = 8;

    static readonly SKColor Background = SKColors.White;
    static readonly SKColor NeutralText = new(0x20, 0x20, 0x20);
    static readonly SKColor CorrectText = new(0x1B, 0x7F, 0x2A);
    static readonly SKColor WrongText = new(0xC6, 0x28, 0x28);

    /// <param name="scale">How many output pixels each source pixel becomes along each side.</param>
    /// <param name="columns">Images per row; 0 puts them all in one row.</param>
    public static void WritePng(string pngPath, IReadOnlyList<CaptionedImage> images, int scale = 4, int columns = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        AtomicFile.WriteAllBytes(pngPath, RenderPng(images, scale, columns));
    }

    /// <summary>
    /// Each image sits in a cell as large as the largest scaled image, at
    /// x = <see cref="Padding"/> + column × (cell width + <see cref="Padding"/>), likewise for y with the
    /// caption band of <see cref="CaptionHeight"/> below each cell.
    /// </summary>
    public static byte[] RenderPng(IReadOnlyList<CaptionedImage> images, int scale = 4, int columns = 0)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("The strip needs at least one image.", nameof(images));
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(scale, 64);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        for (int index = 0; index < images.Count; index++) Validate(images[index], index);

        int cellWidth = images.Max(image => image.Width) * scale;
        int cellHeight = images.Max(image => image.Height) * scale;
        int columnCount = columns == 0 ? images.Count : Math.Min(columns, images.Count);
        int rowCount = (images.Count + columnCount - 1) / columnCount;
        int width = Padding + columnCount * (cellWidth + Padding);
        int height = Padding + rowCount * (cellHeight + CaptionHeight + Padding);

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not create a {width}x{height} drawing surface.");
        var canvas = surface.Canvas;
        canvas.Clear(Background);
        for (int index = 0; index < images.Count; index++)
        {
            var image = images[index];
            float cellLeft = Padding + index % columnCount * (cellWidth + Padding);
            float cellTop = Padding + index / columnCount * (cellHeight + CaptionHeight + Padding);
            // Centred in its cell (only matters when the images differ in size).
            float left = cellLeft + (cellWidth - image.Width * scale) / 2;
            var target = SKRect.Create(left, cellTop, image.Width * scale, image.Height * scale);
            DrawEnlarged(canvas, image, target);
            if (image.Tone == CaptionTone.Wrong) DrawFrame(canvas, target, WrongText);
            DrawCaption(canvas, image, cellLeft + cellWidth / 2f, cellTop + cellHeight, cellWidth + Padding);
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("Skia could not encode the strip as PNG.");
        return png.ToArray();
    }

    static void Validate(CaptionedImage image, int index)
    {
        ArgumentNullException.ThrowIfNull(image, $"images[{index}]");
        if (image.Width <= 0 || image.Height <= 0)
            throw new ArgumentException($"Image {index} has size {image.Width}x{image.Height}; both sides must be positive.", nameof(image));
        if (image.Pixels is null || image.Pixels.Length != image.Width * image.Height)
            throw new ArgumentException($"Image {index} is {image.Width}x{image.Height} and needs {image.Width * image.Height} pixel bytes, not {image.Pixels?.Length ?? 0}.", nameof(image));
    }

    // Nearest-neighbour sampling keeps each source pixel a crisp square instead of a blur.
    static void DrawEnlarged(SKCanvas canvas, CaptionedImage image, SKRect target)
    {
        using var source = SKImage.FromPixelCopy(new SKImageInfo(image.Width, image.Height, SKColorType.Gray8, SKAlphaType.Opaque), image.Pixels)
            ?? throw new InvalidOperationException($"Skia could not take a {image.Width}x{image.Height} greyscale image.");
        canvas.DrawImage(source, target, new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None));
    }

    static void DrawFrame(SKCanvas canvas, SKRect target, SKColor color)
    {
        using var paint = new SKPaint { Color = color, Style = SKPaintStyle.Stroke, StrokeWidth = 2, IsAntialias = false };
        var frame = target;
        frame.Inflate(2, 2);
        canvas.DrawRect(frame, paint);
    }

    static void DrawCaption(SKCanvas canvas, CaptionedImage image, float centreX, float top, float availableWidth)
    {
        if (string.IsNullOrEmpty(image.Caption) || SansSerifFont.Typeface is not SKTypeface typeface) return;
        using var font = new SKFont(typeface, CaptionFontSize) { Edging = SKFontEdging.Antialias };
        // Shrink long captions to fit their cell rather than let them run into the neighbour's.
        float measured = font.MeasureText(image.Caption);
        if (measured > availableWidth - 2)
            font.Size = Math.Max(SmallestCaptionFontSize, CaptionFontSize * (availableWidth - 2) / measured);
        using var paint = new SKPaint { Color = ToneColor(image.Tone), IsAntialias = true };
        float baseline = top + (CaptionHeight + font.Size * 0.7f) / 2;
        canvas.DrawText(image.Caption, centreX, baseline, SKTextAlign.Center, font, paint);
    }

    static SKColor ToneColor(CaptionTone tone) => tone switch
    {
        CaptionTone.Correct => CorrectText,
        CaptionTone.Wrong => WrongText,
        _ => NeutralText,
    };
}
