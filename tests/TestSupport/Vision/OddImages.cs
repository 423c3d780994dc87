using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.Vision;

/// <summary>
/// Pictures of any size, as a scraped folder has them: a 5:1 panorama, a 1:5 portrait strip, a 1x1 icon. Class 0
/// draws stripes and class 1 a checkerboard (with a per-picture colour shift), so a classifier can tell them apart.
/// </summary>
static class OddImages
{
    /// <summary>Writes a width x height picture of the class's pattern; JPEG or PNG by the extension of <paramref name="path"/>.</summary>
    public static string Write(string path, int width, int height, int pattern, int shift = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(width, height);
        int cell = Math.Max(1, Math.Min(width, height) / 8);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                bool on = pattern == 0 ? y / cell % 2 == 0 : (x / cell + y / cell) % 2 == 0;
                image[x, y] = on ? new Rgb24((byte)(200 + shift % 50), 180, 60) : new Rgb24(30, (byte)(40 + shift % 50), 120);
            }
        if (Path.GetExtension(path) == ".png") image.SaveAsPng(path); else image.SaveAsJpeg(path);
        return path;
    }

    /// <summary>A JPEG cut in half: a file any folder of downloads may hold, that no decoder can use.</summary>
    public static string WriteCorrupt(string path)
    {
        Write(path, 64, 48, 0);
        byte[] jpeg = File.ReadAllBytes(path);
        File.WriteAllBytes(path, jpeg[..(jpeg.Length / 2)]);
        return path;
    }
}
