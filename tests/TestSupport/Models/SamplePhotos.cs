using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.Models;

/// <summary>Real photographs for the tests: the cats-dogs sample beside the repository (../shared/data).</summary>
static class SamplePhotos
{
    public static string? CatsDogsFolder { get; } = Find();

    static string? Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, "shared", "data", "cats-dogs");
            if (Directory.Exists(Path.Combine(candidate, "train"))) return candidate;
        }
        return null;
    }

    /// <summary>
    /// <paramref name="count"/> photographs (cats and dogs alternately) as RGB 0-255 [N, 3, 224, 224]; where
    /// the sample is missing, seeded smooth random pictures in the same range so the test still compares.
    /// </summary>
    public static Tensor Rgb224(int count)
    {
        if (CatsDogsFolder is null)
        {
            using var generator = new Generator().manual_seed(5);
            using var coarse = rand([count, 3, 28, 28], generator: generator) * 255;
            return nn.functional.interpolate(coarse, [224, 224], mode: InterpolationMode.Bilinear, align_corners: false);
        }
        var cats = Directory.GetFiles(Path.Combine(CatsDogsFolder, "test", "cats"), "*.jpg").Order(StringComparer.Ordinal).ToList();
        var dogs = Directory.GetFiles(Path.Combine(CatsDogsFolder, "test", "dogs"), "*.jpg").Order(StringComparer.Ordinal).ToList();
        var paths = Enumerable.Range(0, count).Select(i => i % 2 == 0 ? cats[i / 2] : dogs[i / 2]);
        return torch.stack(paths.Select(DecodeRgb224).ToArray());
    }

    /// <summary>Test-only decoding (the runtime's image pipeline does this for the recipes): stretch to 224x224.</summary>
    static Tensor DecodeRgb224(string path)
    {
        using var original = SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path}: not decodable");
        using var resized = original.Resize(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKFilterMode.Linear));
        var chw = new float[3 * 224 * 224];
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 224; x++)
            {
                var pixel = resized.GetPixel(x, y);
                chw[y * 224 + x] = pixel.Red;
                chw[224 * 224 + y * 224 + x] = pixel.Green;
                chw[2 * 224 * 224 + y * 224 + x] = pixel.Blue;
            }
        return torch.tensor(chw, [3, 224, 224]);
    }
}
