using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Runtime.Vision;

/// <summary>
/// A deterministic labelled image set for running the transfer-learning and image-similarity recipes
/// offline: two classes told apart by texture, not colour, as cats and dogs are by shape. "stripes" are
/// parallel bands at a random angle and period; "spots" are scattered discs of random radius. Both draw
/// their two colours, size (120..220 px, not square) and sensor noise from the same distributions, so only
/// the pattern separates them. Images are PNG bytes held in memory and enter the pipeline through the same
/// decoder as files; the same seed gives the same bytes on every machine.
/// </summary>
public static class GeneratedTextureImages
{
    public static IReadOnlyList<string> ClassNames { get; } = ["spots", "stripes"];

    /// <summary><paramref name="perClass"/> images of each class, interleaved (spots, stripes, spots, ...).</summary>
    public static ImageSet Create(int perClass, int seed)
    {
        var entries = new List<ImageEntry>(2 * perClass);
        for (int i = 0; i < perClass; i++)
            for (int label = 0; label < 2; label++)
            {
                // One generator per image: any image can be recreated alone, in any order.
                var random = new Random(unchecked(seed * 7919 + i * 2 + label));
                entries.Add(new ImageEntry($"generated:{ClassNames[label]}/{i:D4}.png", label) { EncodedBytes = EncodePng(label, random) });
            }
        return new ImageSet(entries, ClassNames);
    }

    static byte[] EncodePng(int label, Random random)
    {
        int width = random.Next(120, 221), height = random.Next(120, 221);
        var background = RandomColour(random);
        var pattern = RandomColour(random);
        // A pattern must be visible: redraw its colour until it differs clearly from the background.
        while (Math.Abs(pattern.R - background.R) + Math.Abs(pattern.G - background.G) + Math.Abs(pattern.B - background.B) < 150)
            pattern = RandomColour(random);
        using var image = new Image<Rgb24>(width, height);
        Func<int, int, bool> onPattern = label == 0 ? Spots(random, width, height) : Stripes(random);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var colour = onPattern(x, y) ? pattern : background;
                int noise = random.Next(-12, 13);
                image[x, y] = new Rgb24(Clamp(colour.R + noise), Clamp(colour.G + noise), Clamp(colour.B + noise));
            }
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return png.ToArray();
    }

    static Func<int, int, bool> Stripes(Random random)
    {
        double angle = random.NextDouble() * Math.PI, period = random.Next(10, 30);
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        return (x, y) => ((x * cos + y * sin) % period + period) % period < period / 2;
    }

    static Func<int, int, bool> Spots(Random random, int width, int height)
    {
        var discs = Enumerable.Range(0, random.Next(6, 16))
            .Select(_ => (X: random.Next(width), Y: random.Next(height), R: random.Next(6, 22)))
            .ToArray();
        return (x, y) => discs.Any(d => (x - d.X) * (x - d.X) + (y - d.Y) * (y - d.Y) <= d.R * d.R);
    }

    static Rgb24 RandomColour(Random random) => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));

    static byte Clamp(int value) => (byte)Math.Clamp(value, 0, 255);
}
