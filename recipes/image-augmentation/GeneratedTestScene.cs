using Recipes.Runtime.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;

namespace Recipes.ImageAugmentation;

/// <summary>
/// A deterministic, colourful 500 x 375 picture (the size of the seed's test.jpg) for running the image
/// pipeline offline: a sky gradient, a sun, hills, a house, and a row of pure colour bars (red, green, blue,
/// cyan, magenta, yellow, white, black) that make hue, saturation and channel-order changes easy to judge. The
/// sun on the right and the house on the left make a flip obvious. No text, so no font is needed.
/// </summary>
public static class GeneratedTestScene
{
    public const int Width = 500;
    public const int Height = 375;
    public const string Origin = "generated:test-scene.png";

    static readonly SKColor[] Bars =
    [
        new(255, 0, 0), new(0, 255, 0), new(0, 0, 255), new(0, 255, 255),
        new(255, 0, 255), new(255, 255, 0), new(255, 255, 255), new(0, 0, 0),
    ];

    /// <summary>The scene as a PNG file's bytes (so it enters the pipeline through the same decoder as a real file).</summary>
    public static byte[] EncodePng()
    {
        byte[] rgba = Render();
        using var image = SixLabors.ImageSharp.Image.LoadPixelData<Rgba32>(rgba, Width, Height);
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return png.ToArray();
    }

    /// <summary>An image set holding only the scene.</summary>
    public static ImageSet AsImageSet() => new([new ImageEntry(Origin) { EncodedBytes = EncodePng() }]);

    static byte[] Render()
    {
        var info = new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.Black);

        using (var sky = new SKPaint())
        {
            sky.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, 260),
                [new SKColor(40, 90, 200), new SKColor(170, 215, 250)], SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, Width, 260, sky);
        }
        using var fill = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
        fill.Color = new SKColor(255, 200, 20);
        canvas.DrawCircle(410, 70, 42, fill);
        fill.Color = new SKColor(40, 150, 50);
        canvas.DrawOval(new SKRect(-120, 180, 300, 360), fill);
        fill.Color = new SKColor(90, 180, 60);
        canvas.DrawOval(new SKRect(180, 200, 620, 380), fill);

        // A house on the left: red walls, dark roof, blue door, yellow windows.
        fill.Color = new SKColor(200, 40, 40);
        canvas.DrawRect(60, 170, 150, 110, fill);
        using (var roof = new SKPath())
        {
            roof.MoveTo(45, 172);
            roof.LineTo(135, 105);
            roof.LineTo(225, 172);
            roof.Close();
            fill.Color = new SKColor(70, 40, 30);
            canvas.DrawPath(roof, fill);
        }
        fill.Color = new SKColor(30, 60, 200);
        canvas.DrawRect(120, 220, 32, 60, fill);
        fill.Color = new SKColor(250, 230, 90);
        canvas.DrawRect(78, 192, 28, 26, fill);
        canvas.DrawRect(168, 192, 28, 26, fill);

        // Pure colour bars along the bottom.
        float barWidth = Width / (float)Bars.Length;
        for (int i = 0; i < Bars.Length; i++)
        {
            fill.Color = Bars[i];
            fill.IsAntialias = false;
            canvas.DrawRect(i * barWidth, Height - 55, barWidth, 55, fill);
        }

        canvas.Flush();
        return bitmap.Bytes;
    }
}
