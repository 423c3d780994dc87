using System.Buffers;
using System.Numerics;

namespace Recipes.Runtime.Vision;

/// <summary>
/// Bilinear resampling that stays correct when shrinking: the triangle filter is widened by the shrink factor
/// so every source pixel contributes (plain bilinear, like OpenCV's INTER_LINEAR, skips pixels and aliases).
/// This is the filter PIL's BILINEAR uses. Separable: a vertical pass over whole rows (vectorised), then a
/// horizontal pass.
/// </summary>
static class Resampler
{
    /// <summary>For each output position, the first source index, the number of taps and their weights.</summary>
    sealed record Taps(int[] First, int[] Count, float[] Weights, int Stride);

    /// <summary>
    /// The resized pixels in a new buffer (<see cref="RgbFrame.NewBuffer"/>). <paramref name="source"/> may be longer than width x height x 3 (a
    /// rented buffer): only the image's values are read. The intermediate rows come from a pool, so resizing a
    /// stream of photographs does not churn the large-object heap.
    /// </summary>
    public static float[] Resize(float[] source, int width, int height, int newWidth, int newHeight)
    {
        const int channels = RgbFrame.Channels;
        int rowLength = width * channels;
        float[] target = RgbFrame.NewBuffer(newWidth * newHeight * channels);
        if (width == newWidth && height == newHeight)
        {
            source.AsSpan(0, rowLength * height).CopyTo(target);
            return target;
        }
        if (width == newWidth)
        {
            ResizeVertically(source, rowLength, height, newHeight, target);
            return target;
        }
        if (height == newHeight)
        {
            ResizeHorizontally(source, width, height, newWidth, target);
            return target;
        }
        float[] rows = ArrayPool<float>.Shared.Rent(rowLength * newHeight);
        try
        {
            ResizeVertically(source, rowLength, height, newHeight, rows);
            ResizeHorizontally(rows, width, newHeight, newWidth, target);
            return target;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rows);
        }
    }

    static void ResizeVertically(float[] source, int rowLength, int height, int newHeight, float[] target)
    {
        var taps = ComputeTaps(height, newHeight);
        for (int y = 0; y < newHeight; y++)
        {
            var output = target.AsSpan(y * rowLength, rowLength);
            output.Clear();
            for (int t = 0; t < taps.Count[y]; t++)
            {
                float weight = taps.Weights[y * taps.Stride + t];
                var input = source.AsSpan((taps.First[y] + t) * rowLength, rowLength);
                AddScaled(output, input, weight);
            }
        }
    }

    static void AddScaled(Span<float> output, ReadOnlySpan<float> input, float weight)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = new Vector<float>(weight);
            for (; i <= output.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(output[i..]) + new Vector<float>(input[i..]) * w).CopyTo(output[i..]);
        }
        for (; i < output.Length; i++) output[i] += input[i] * weight;
    }

    static void ResizeHorizontally(float[] source, int width, int height, int newWidth, float[] target)
    {
        const int channels = RgbFrame.Channels;
        var taps = ComputeTaps(width, newWidth);
        for (int y = 0; y < height; y++)
        {
            int inRow = y * width * channels, outRow = y * newWidth * channels;
            for (int x = 0; x < newWidth; x++)
            {
                float r = 0, g = 0, b = 0;
                int at = inRow + taps.First[x] * channels, weights = x * taps.Stride;
                for (int t = 0; t < taps.Count[x]; t++, at += channels)
                {
                    float weight = taps.Weights[weights + t];
                    r += source[at] * weight;
                    g += source[at + 1] * weight;
                    b += source[at + 2] * weight;
                }
                int o = outRow + x * channels;
                target[o] = r;
                target[o + 1] = g;
                target[o + 2] = b;
            }
        }
    }

    static Taps ComputeTaps(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double support = Math.Max(scale, 1.0); // the triangle's half-width in source pixels
        int stride = (int)Math.Ceiling(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize];
        float[] weights = new float[outSize * stride];
        for (int i = 0; i < outSize; i++)
        {
            double centre = (i + 0.5) * scale; // output pixel centre in source edge coordinates
            int lo = Math.Max(0, (int)Math.Floor(centre - support + 0.5));
            int hi = Math.Min(inSize, (int)Math.Floor(centre + support + 0.5));
            double total = 0;
            for (int j = lo; j < hi; j++)
            {
                double weight = Math.Max(0, 1 - Math.Abs(j + 0.5 - centre) / support);
                weights[i * stride + j - lo] = (float)weight;
                total += weight;
            }
            // Near the edges part of the triangle falls outside the image: renormalise so flat stays flat.
            for (int j = lo; j < hi; j++) weights[i * stride + j - lo] = (float)(weights[i * stride + j - lo] / total);
            first[i] = lo;
            count[i] = hi - lo;
        }
        return new Taps(first, count, weights, stride);
    }
}
