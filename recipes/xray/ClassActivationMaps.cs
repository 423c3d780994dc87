using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>One finding's class activation map over an image: values at the image's pixels, row-major.</summary>
public sealed record ActivationMap(string Finding, float Probability, float[] Values, int Width, int Height)
{
    /// <summary>The pixel where the evidence for the finding was strongest.</summary>
    public (int X, int Y) Peak
    {
        get
        {
            int best = 0;
            for (int i = 1; i < Values.Length; i++)
                if (Values[i] > Values[best]) best = i;
            return (best % Width, best / Width);
        }
    }
}

/// <summary>
/// CheXNet's heatmaps: the class activation map of a finding (<see cref="ChestXrayNetwork.ForwardWithMaps"/>, one
/// value per cell of the last feature map, 7x7 for a 224-pixel image) brought up to the image's size by bilinear
/// interpolation, and drawn over the radiograph in a blue-to-red colour scale where the map is high.
/// </summary>
public static class ClassActivationMaps
{
    /// <summary>Probabilities [N, findings] and the maps of every finding at the images' size, for a batch of
    /// images [N, 3, H, W] (0..255 pixels). The network is put in evaluation mode.</summary>
    public static (float[][] Probabilities, ActivationMap[][] Maps) Compute(ChestXrayNetwork network, Tensor images, IReadOnlyList<string> findings)
    {
        network.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (logits, maps) = network.ForwardWithMaps(images);
        int n = (int)images.shape[0], height = (int)images.shape[2], width = (int)images.shape[3];
        var upsampled = nn.functional.interpolate(maps, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
        float[] probabilities = logits.sigmoid().contiguous().data<float>().ToArray();
        float[] values = upsampled.contiguous().data<float>().ToArray();
        int k = findings.Count, plane = height * width;
        var allProbabilities = new float[n][];
        var allMaps = new ActivationMap[n][];
        for (int i = 0; i < n; i++)
        {
            allProbabilities[i] = probabilities.AsSpan(i * k, k).ToArray();
            allMaps[i] = new ActivationMap[k];
            for (int c = 0; c < k; c++)
                allMaps[i][c] = new ActivationMap(findings[c], allProbabilities[i][c], values.AsSpan((i * k + c) * plane, plane).ToArray(), width, height);
        }
        return (allProbabilities, allMaps);
    }

    /// <summary>The image (RGB bytes, the map's size) with the map laid over it: transparent where the map is at
    /// its lowest, a strong warm colour at its peak. Values are stretched between the map's own minimum and
    /// maximum, so every map uses the whole scale: read it as "where", not "how much" (the probability says that).</summary>
    public static byte[] Overlay(ReadOnlySpan<byte> rgb, ActivationMap map)
    {
        if (rgb.Length != map.Width * map.Height * 3)
            throw new ArgumentException($"the image has {rgb.Length / 3} pixels, the map {map.Width}x{map.Height}");
        float low = map.Values.Min(), high = map.Values.Max(), range = Math.Max(high - low, 1e-6f);
        var blended = new byte[rgb.Length];
        for (int i = 0; i < map.Values.Length; i++)
        {
            float level = (map.Values[i] - low) / range;
            var (red, green, blue) = HeatColour(level);
            float alpha = 0.15f + 0.5f * level; // the film stays visible under the colour everywhere
            blended[3 * i] = Blend(rgb[3 * i], red, alpha);
            blended[3 * i + 1] = Blend(rgb[3 * i + 1], green, alpha);
            blended[3 * i + 2] = Blend(rgb[3 * i + 2], blue, alpha);
        }
        return blended;
    }

    /// <summary>Blue (0) through cyan, green and yellow to red (1), the scale of CheXNet's figures.</summary>
    public static (float Red, float Green, float Blue) HeatColour(float level)
    {
        level = Math.Clamp(level, 0, 1);
        float red = Math.Clamp(1.5f - Math.Abs(4 * level - 3), 0, 1);
        float green = Math.Clamp(1.5f - Math.Abs(4 * level - 2), 0, 1);
        float blue = Math.Clamp(1.5f - Math.Abs(4 * level - 1), 0, 1);
        return (red * 255, green * 255, blue * 255);
    }

    static byte Blend(byte under, float over, float alpha) => (byte)Math.Clamp(MathF.Round(under * (1 - alpha) + over * alpha), 0, 255);

    /// <summary>The fraction of the frame a source box covers once mapped into it and widened by
    /// <paramref name="margin"/> (clipped to the frame): the chance that a peak put at random lands inside.</summary>
    public static double CoveredFraction(RgbFrame frame, PixelBox sourceBox, double margin)
    {
        var box = frame.FromSource.Map(sourceBox);
        double width = Math.Max(0, Math.Min(frame.Width, box.Right + margin) - Math.Max(0, box.Left - margin));
        double height = Math.Max(0, Math.Min(frame.Height, box.Bottom + margin) - Math.Max(0, box.Top - margin));
        return width * height / ((double)frame.Width * frame.Height);
    }

    /// <summary>Whether the map's peak falls inside a box given in the source image's pixels, mapped through the
    /// same resizes and crops the frame went through (<see cref="RgbFrame.FromSource"/>), widened by
    /// <paramref name="margin"/> frame pixels on each side.</summary>
    public static bool PeakInside(ActivationMap map, RgbFrame frame, PixelBox sourceBox, double margin)
    {
        var box = frame.FromSource.Map(sourceBox);
        var (x, y) = map.Peak;
        double cx = x + 0.5, cy = y + 0.5; // the pixel's centre, in the edge coordinates boxes use
        return cx >= box.Left - margin && cx <= box.Right + margin && cy >= box.Top - margin && cy <= box.Bottom + margin;
    }
}
