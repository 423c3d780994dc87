using Recipes.ImageAugmentation;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Vision;
using SkiaSharp;

namespace Recipes.Tests.Summaries;

public class ContactSheetTests
{
    static ContactSheetTile Flat(int width, int height, byte r, byte g, byte b, string title) =>
        new(Enumerable.Repeat(new[] { r, g, b }, width * height).SelectMany(pixel => pixel).ToArray(), width, height, title, $"{width}x{height}");

    [Fact]
    public void Tiles_are_drawn_at_one_scale_centred_in_equal_cells_under_their_section()
    {
        var sections = new[]
        {
            new ContactSheetSection("ops", [Flat(40, 20, 255, 0, 0, "red"), Flat(20, 20, 0, 0, 255, "blue")]),
            new ContactSheetSection("more", [Flat(10, 10, 0, 255, 0, "green")]),
        };
        byte[] png = ContactSheet.RenderPng(sections, columns: 2, scale: 2);
        using var sheet = SKBitmap.Decode(png);
        int cellWidth = 80, cellHeight = 40, pad = ContactSheet.Padding;
        Assert.Equal(pad + 2 * (cellWidth + pad), sheet.Width);
        int rowHeight = cellHeight + ContactSheet.CaptionHeight + pad;
        Assert.Equal(pad + 2 * ContactSheet.HeadingHeight + 2 * rowHeight, sheet.Height);

        int firstTop = pad + ContactSheet.HeadingHeight;
        Assert.Equal(new SKColor(255, 0, 0), sheet.GetPixel(pad + 40, firstTop + 20)); // red fills its cell
        // Blue is 40x40 drawn, centred in an 80-wide cell: its left edge is 20 px in.
        int blueCell = pad + cellWidth + pad;
        Assert.Equal(new SKColor(0, 0, 255), sheet.GetPixel(blueCell + 40, firstTop + 20));
        Assert.NotEqual(new SKColor(0, 0, 255), sheet.GetPixel(blueCell + 10, firstTop + 20));
        // The second section starts on a new row below its own heading.
        int secondTop = firstTop + rowHeight + ContactSheet.HeadingHeight;
        Assert.Equal(new SKColor(0, 255, 0), sheet.GetPixel(pad + 40, secondTop + 20));
    }

    [Fact]
    public void Wrong_pixel_counts_are_refused_with_the_tile_named()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            ContactSheet.RenderPng([new ContactSheetSection("s", [new ContactSheetTile(new byte[5], 2, 2, "broken")])], 1, 1));
        Assert.Contains("\"broken\"", error.Message);
    }

    [Fact]
    public void The_generated_scene_is_deterministic_and_shows_pure_colour_bars()
    {
        var first = SafeImageDecoder.Default.Decode(GeneratedTestScene.EncodePng(), GeneratedTestScene.Origin);
        var second = SafeImageDecoder.Default.Decode(GeneratedTestScene.EncodePng(), GeneratedTestScene.Origin);
        Assert.Equal((GeneratedTestScene.Width, GeneratedTestScene.Height), (first.Width, first.Height));
        Assert.Equal(first.Pixels.ToArray(), second.Pixels.ToArray());
        int barY = GeneratedTestScene.Height - 20, barWidth = GeneratedTestScene.Width / 8;
        float[][] expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 255, 255], [255, 0, 255], [255, 255, 0], [255, 255, 255], [0, 0, 0]];
        for (int bar = 0; bar < 8; bar++)
        {
            int x = bar * barWidth + barWidth / 2;
            Assert.Equal(expected[bar], new[] { first[x, barY, 0], first[x, barY, 1], first[x, barY, 2] });
        }
    }
}
