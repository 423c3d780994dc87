using Recipes.Runtime.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.Vision;

/// <summary>Grey data sets come as 8-bit grey, 16-bit grey and RGBA files: all must end as three equal channels.</summary>
public class GreyscaleTests
{
    static byte[] Png<TPixel>(Image<TPixel> image, PngColorType colourType, PngBitDepth bitDepth) where TPixel : unmanaged, IPixel<TPixel>
    {
        using var stream = new MemoryStream();
        image.SaveAsPng(stream, new PngEncoder { ColorType = colourType, BitDepth = bitDepth });
        return stream.ToArray();
    }

    static RgbFrame DecodeGrey(byte[] png, string name) => new Greyscale().Apply(SafeImageDecoder.Default.Decode(png, name), seed: 1);

    static void AssertGrey(RgbFrame frame, int x, int y, float expected)
    {
        for (int channel = 0; channel < 3; channel++)
            Assert.Equal(expected, frame[x, y, channel], 0.001f);
    }

    [Fact]
    public void An_8_bit_grey_png_keeps_its_values_in_all_three_channels()
    {
        using var image = new Image<L8>(4, 2);
        for (int x = 0; x < 4; x++)
        {
            image[x, 0] = new L8((byte)(x * 80));
            image[x, 1] = new L8((byte)(255 - x * 33));
        }
        var frame = DecodeGrey(Png(image, PngColorType.Grayscale, PngBitDepth.Bit8), "grey8.png");
        for (int x = 0; x < 4; x++)
        {
            AssertGrey(frame, x, 0, x * 80);
            AssertGrey(frame, x, 1, 255 - x * 33);
        }
        Assert.Equal(["greyscale (BT.601 luma)"], frame.History);
    }

    [Fact]
    public void A_16_bit_grey_png_becomes_its_value_over_257_rounded()
    {
        ushort[] values = [0, 257, 1000, 32768, 40000, 65535];
        using var image = new Image<L16>(values.Length, 1);
        for (int x = 0; x < values.Length; x++) image[x, 0] = new L16(values[x]);
        byte[] png = Png(image, PngColorType.Grayscale, PngBitDepth.Bit16);
        Assert.Equal(16, png[24]);   // the IHDR bit depth: the file really is 16-bit
        var frame = DecodeGrey(png, "grey16.png");
        for (int x = 0; x < values.Length; x++)
            AssertGrey(frame, x, 0, (float)Math.Round(values[x] / 257.0));
    }

    [Fact]
    public void An_rgba_png_of_grey_pixels_keeps_them_and_a_coloured_pixel_becomes_its_luma()
    {
        using var image = new Image<Rgba32>(3, 1);
        image[0, 0] = new Rgba32(90, 90, 90, 255);
        image[1, 0] = new Rgba32(200, 200, 200, 255);
        image[2, 0] = new Rgba32(200, 100, 50, 255);
        byte[] png = Png(image, PngColorType.RgbWithAlpha, PngBitDepth.Bit8);
        Assert.Equal(6, png[25]);   // the IHDR colour type: RGBA
        var frame = DecodeGrey(png, "rgba.png");
        AssertGrey(frame, 0, 0, 90);
        AssertGrey(frame, 1, 0, 200);
        AssertGrey(frame, 2, 0, 0.299f * 200 + 0.587f * 100 + 0.114f * 50);   // 124.3
    }

    [Fact]
    public void Pure_colours_take_the_bt601_weights_and_grey_is_exact()
    {
        var colours = TestFrames.Of(4, 1, 255, 0, 0, 0, 255, 0, 0, 0, 255, 77, 77, 77);
        var grey = new Greyscale().Apply(colours, seed: 1);
        AssertGrey(grey, 0, 0, 0.299f * 255);
        AssertGrey(grey, 1, 0, 0.587f * 255);
        AssertGrey(grey, 2, 0, 0.114f * 255);
        Assert.Equal([77f, 77f, 77f], TestFrames.Pixel(grey, 3, 0));
        Assert.Equal("Greyscale()", new Greyscale().Name);
    }
}
