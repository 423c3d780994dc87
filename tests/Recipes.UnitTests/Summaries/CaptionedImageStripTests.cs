using Recipes.Runtime.Summaries;
using SkiaSharp;

namespace Recipes.Tests.Summaries;

public class CaptionedImageStripTests
{
    const int Side = 28;
    const int Scale = 4;
    const int Cell = Side * Scale;

    static byte[] BlackImage() => new byte[Side * Side];

    static byte[] ImageWithWhitePixelAt(int x, int y)
    {
        var pixels = BlackImage();
        pixels[y * Side + x] = 255;
        return pixels;
    }

    static (int Left, int Top) CellOrigin(int column, int row) =>
        (CaptionedImageStrip.Padding + column * (Cell + CaptionedImageStrip.Padding),
         CaptionedImageStrip.Padding + row * (Cell + CaptionedImageStrip.CaptionHeight + CaptionedImageStrip.Padding));

    [Fact]
    public void Strip_has_the_expected_size_and_each_source_pixel_becomes_a_scaled_block()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("digits.png");
        var images = new[]
        {
            new CaptionedImage(BlackImage(), Side, Side, "0"),
            new CaptionedImage(ImageWithWhitePixelAt(5, 7), Side, Side, "7"),
            new CaptionedImage(BlackImage(), Side, Side, "3"),
        };
        CaptionedImageStrip.WritePng(path, images, Scale);

        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal(CaptionedImageStrip.Padding + 3 * (Cell + CaptionedImageStrip.Padding), bitmap.Width);
        Assert.Equal(CaptionedImageStrip.Padding + Cell + CaptionedImageStrip.CaptionHeight + CaptionedImageStrip.Padding, bitmap.Height);

        var (left, top) = CellOrigin(1, 0);
        for (int dy = 0; dy < Scale; dy++)
            for (int dx = 0; dx < Scale; dx++)
                Assert.Equal(SKColors.White, bitmap.GetPixel(left + 5 * Scale + dx, top + 7 * Scale + dy));
        // Just outside the block, and the same spot in the first (black) image, stay black.
        Assert.Equal(SKColors.Black, bitmap.GetPixel(left + 5 * Scale - 1, top + 7 * Scale));
        Assert.Equal(SKColors.Black, bitmap.GetPixel(left + 6 * Scale, top + 7 * Scale));
        Assert.Equal(SKColors.Black, bitmap.GetPixel(left + 5 * Scale, top + 8 * Scale));
        var (firstLeft, firstTop) = CellOrigin(0, 0);
        Assert.Equal(SKColors.Black, bitmap.GetPixel(firstLeft + 5 * Scale, firstTop + 7 * Scale));
    }

    [Fact]
    public void Columns_wrap_the_images_into_rows()
    {
        var images = Enumerable.Range(0, 5).Select(index => new CaptionedImage(index == 4 ? ImageWithWhitePixelAt(0, 0) : BlackImage(), Side, Side, $"{index}")).ToList();
        using var bitmap = SKBitmap.Decode(CaptionedImageStrip.RenderPng(images, Scale, columns: 2));

        Assert.Equal(CaptionedImageStrip.Padding + 2 * (Cell + CaptionedImageStrip.Padding), bitmap.Width);
        Assert.Equal(CaptionedImageStrip.Padding + 3 * (Cell + CaptionedImageStrip.CaptionHeight + CaptionedImageStrip.Padding), bitmap.Height);
        var (left, top) = CellOrigin(0, 2); // the fifth image starts the third row
        Assert.Equal(SKColors.White, bitmap.GetPixel(left, top));
    }

    [Fact]
    public void Wrong_predictions_are_framed_in_red_and_right_ones_are_not()
    {
        var images = new[]
        {
            CaptionedImage.Prediction(BlackImage(), Side, Side, "7", "7"),
            CaptionedImage.Prediction(BlackImage(), Side, Side, "1", "7"),
        };
        Assert.Equal("1 (true 7)", images[1].Caption);
        Assert.Equal(CaptionTone.Correct, images[0].Tone);
        Assert.Equal(CaptionTone.Wrong, images[1].Tone);

        using var bitmap = SKBitmap.Decode(CaptionedImageStrip.RenderPng(images, Scale));
        var (rightLeft, rightTop) = CellOrigin(0, 0);
        var (wrongLeft, wrongTop) = CellOrigin(1, 0);
        Assert.Equal(SKColors.White, bitmap.GetPixel(rightLeft - 2, rightTop + Cell / 2));
        var frame = bitmap.GetPixel(wrongLeft - 2, wrongTop + Cell / 2);
        Assert.True(frame.Red > 150 && frame.Green < 80 && frame.Blue < 80, $"expected red frame, got {frame}");
    }

    [Fact]
    public void Captions_are_drawn_in_their_tone_when_a_font_is_installed()
    {
        if (SKFontManager.Default.FontFamilyCount == 0) return; // Captions are knowingly left out without fonts.
        var images = new[]
        {
            CaptionedImage.Prediction(BlackImage(), Side, Side, "7", "7"),
            CaptionedImage.Prediction(BlackImage(), Side, Side, "1", "7"),
        };
        using var bitmap = SKBitmap.Decode(CaptionedImageStrip.RenderPng(images, Scale));
        int bandTop = CaptionedImageStrip.Padding + Cell + 3;
        int bandBottom = bandTop + CaptionedImageStrip.CaptionHeight - 3;

        Assert.True(CountPixels(bitmap, 0, bitmap.Width / 2, bandTop, bandBottom, IsGreenish) > 10, "no green caption under the right prediction");
        Assert.True(CountPixels(bitmap, bitmap.Width / 2, bitmap.Width, bandTop, bandBottom, IsReddish) > 10, "no red caption under the wrong prediction");
        Assert.Equal(0, CountPixels(bitmap, 0, bitmap.Width / 2, bandTop, bandBottom, IsReddish));
    }

    [Fact]
    public void Pixel_count_not_matching_the_size_is_rejected_naming_the_image()
    {
        var images = new[] { new CaptionedImage(BlackImage(), Side, Side, "ok"), new CaptionedImage(new byte[10], Side, Side, "bad") };
        var error = Assert.Throws<ArgumentException>(() => CaptionedImageStrip.RenderPng(images));
        Assert.Contains("Image 1", error.Message);
        Assert.Contains("784", error.Message);
    }

    [Fact]
    public void An_empty_list_or_a_bad_scale_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => CaptionedImageStrip.RenderPng([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CaptionedImageStrip.RenderPng([new CaptionedImage(BlackImage(), Side, Side, "")], scale: 0));
    }

    static bool IsGreenish(SKColor color) => color.Green > color.Red + 40 && color.Green > color.Blue + 40;

    static bool IsReddish(SKColor color) => color.Red > color.Green + 40 && color.Red > color.Blue + 40;

    static int CountPixels(SKBitmap bitmap, int fromX, int toX, int fromY, int toY, Func<SKColor, bool> matches)
    {
        int count = 0;
        for (int y = fromY; y < toY; y++)
            for (int x = fromX; x < toX; x++)
                if (matches(bitmap.GetPixel(x, y))) count++;
        return count;
    }
}
