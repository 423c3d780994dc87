using System.Numerics;
using System.Runtime.InteropServices;

namespace Recipes.Mnist;

/// <summary>
/// Handwriting-like digits in MNIST's shape for the offline tier: 28x28 greyscale, white ink on black,
/// each digit fitted into about 20x20 and centred by its centre of mass, balanced classes in shuffled order.
/// Every sample is drawn with a pen from strokes (<see cref="DigitStrokes"/>), then slanted, rotated,
/// stretched and bent by a smooth random displacement field, with a random pen width: varied like
/// handwriting, yet each class stays recognisable, so a classifier trained on them learns something real.
/// The same seed gives the same bytes on every machine and with any number of threads.
/// </summary>
public static class GeneratedDigits
{
    public const int ImageSize = 28;
    public const int ClassCount = 10;
    const int PixelsPerImage = ImageSize * ImageSize;
    const float Centre = ImageSize / 2f;

    public static LabeledImages Create(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        byte[] labels = BalancedShuffledLabels(count, seed);
        byte[] pixels = new byte[checked(count * PixelsPerImage)];
        // Each sample has its own generator seeded from (seed, index), so threads cannot change the result.
        Parallel.For(0, count, index => Render(labels[index], SampleSeed(seed, index), pixels.AsSpan(index * PixelsPerImage, PixelsPerImage)));
        return new LabeledImages(pixels, labels, ImageSize, ImageSize, ClassCount);
    }

    /// <summary>One 28x28 image of <paramref name="digit"/>, row-major.</summary>
    public static byte[] Render(int digit, int sampleSeed)
    {
        byte[] image = new byte[PixelsPerImage];
        Render(digit, sampleSeed, image);
        return image;
    }

    static void Render(int digit, int sampleSeed, Span<byte> image)
    {
        var random = new Random(sampleSeed);
        List<PenStroke> strokes = DigitStrokes.Draw(digit, random);
        var hand = HandStyle.Draw(random);

        foreach (var stroke in strokes)
        {
            List<Vector2> points = stroke.Points;
            for (int i = 0; i < points.Count; i++) points[i] = hand.Transform(points[i]);
        }
        FitIntoImage(strokes, hand, random);

        Span<float> ink = stackalloc float[PixelsPerImage];
        ink.Clear();
        foreach (var stroke in strokes)
        {
            float[] widths = hand.WidthsAlong(stroke.Points);
            StrokeRasterizer.Paint(ink, ImageSize, CollectionsMarshal.AsSpan(stroke.Points), widths, hand.EdgeSoftness);
        }
        for (int i = 0; i < PixelsPerImage; i++) image[i] = (byte)MathF.Round(ink[i] * 255);
    }

    /// <summary>
    /// Scales the strokes so the inked digit's larger side is about 20 pixels (keeping its aspect), then
    /// moves its centre of mass near the image centre, as MNIST was prepared, without leaving the image.
    /// </summary>
    static void FitIntoImage(List<PenStroke> strokes, HandStyle hand, Random random)
    {
        var min = new Vector2(float.MaxValue);
        var max = new Vector2(float.MinValue);
        foreach (var stroke in strokes)
            foreach (var point in stroke.Points) { min = Vector2.Min(min, point); max = Vector2.Max(max, point); }
        float inkedBox = 20f * (float)(0.88 + 0.12 * random.NextDouble());
        float largerSide = MathF.Max(MathF.Max(max.X - min.X, max.Y - min.Y), 1e-3f);
        float scale = (inkedBox - hand.PenWidth) / largerSide;

        // Centre of mass of the pen path, weighting each segment by its length.
        Vector2 weightedSum = Vector2.Zero;
        float totalLength = 0;
        foreach (var stroke in strokes)
        {
            var points = stroke.Points;
            for (int i = 0; i + 1 < points.Count; i++)
            {
                float length = Vector2.Distance(points[i], points[i + 1]);
                weightedSum += length * (points[i] + points[i + 1]) / 2;
                totalLength += length;
            }
        }
        Vector2 massCentre = totalLength > 0 ? weightedSum / totalLength : (min + max) / 2;

        var jitter = new Vector2((float)(random.NextDouble() - 0.5), (float)(random.NextDouble() - 0.5)) * 1.6f;
        Vector2 offset = new Vector2(Centre) + jitter - (massCentre - min) * scale;
        // Keep the ink inside the image: a top-heavy 7 centred by mass would otherwise spill over the bottom.
        float margin = hand.PenWidth / 2 + 0.5f;
        Vector2 size = (max - min) * scale;
        offset = Vector2.Clamp(offset, new Vector2(margin), Vector2.Max(new Vector2(margin), new Vector2(ImageSize - margin) - size));

        foreach (var stroke in strokes)
        {
            var points = stroke.Points;
            for (int i = 0; i < points.Count; i++) points[i] = (points[i] - min) * scale + offset;
        }
    }

    static byte[] BalancedShuffledLabels(int count, int seed)
    {
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) labels[i] = (byte)(i % ClassCount);
        var random = new Random(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (labels[i], labels[j]) = (labels[j], labels[i]);
        }
        return labels;
    }

    /// <summary>A well-mixed seed for sample <paramref name="index"/> (SplitMix64's finaliser), so neighbours are unrelated.</summary>
    static int SampleSeed(int seed, int index)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z >> 33);
    }

    /// <summary>How one writer holds the pen for one sample: slant, rotation, proportions, wobble, pen width.</summary>
    sealed class HandStyle
    {
        const int WavesPerAxis = 3;

        float slant, cosRotation, sinRotation, aspect;
        readonly Vector2[] waveDirections = new Vector2[2 * WavesPerAxis];
        readonly float[] wavePhases = new float[2 * WavesPerAxis];
        readonly float[] waveAmplitudes = new float[2 * WavesPerAxis];
        float widthWavePhase, widthWaveLength, widthVariation;

        public float PenWidth { get; private set; }
        public float EdgeSoftness { get; private set; }

        public static HandStyle Draw(Random random)
        {
            float Uniform(double low, double high) => (float)(low + (high - low) * random.NextDouble());
            var style = new HandStyle
            {
                // Most people slant to the right; some write upright or lean left.
                slant = Uniform(-0.2, 0.45),
                aspect = MathF.Exp(Uniform(-0.25, 0.2)),
                PenWidth = Uniform(1.7, 2.6) + Uniform(0, 1.4),
                EdgeSoftness = Uniform(0.9, 1.6),
                widthWavePhase = Uniform(0, 2 * MathF.PI),
                widthWaveLength = Uniform(12, 30),
                widthVariation = Uniform(0, 0.2),
            };
            float rotation = Uniform(-16, 16) * MathF.PI / 180;
            style.cosRotation = MathF.Cos(rotation);
            style.sinRotation = MathF.Sin(rotation);
            // The elastic distortion: a few long, smooth waves of displacement across the unit box.
            for (int i = 0; i < style.waveDirections.Length; i++)
            {
                float angle = Uniform(0, 2 * MathF.PI);
                float cyclesPerUnit = Uniform(0.4, 1.5);
                style.waveDirections[i] = new Vector2(MathF.Cos(angle), MathF.Sin(angle)) * (2 * MathF.PI * cyclesPerUnit);
                style.wavePhases[i] = Uniform(0, 2 * MathF.PI);
                style.waveAmplitudes[i] = Uniform(0, 0.06);
            }
            return style;
        }

        /// <summary>From the digit's unit box to a slanted, rotated, bent shape (still in box units, centred on 0).</summary>
        public Vector2 Transform(Vector2 point)
        {
            var bend = Vector2.Zero;
            for (int i = 0; i < WavesPerAxis; i++)
            {
                bend.X += waveAmplitudes[i] * MathF.Sin(Vector2.Dot(waveDirections[i], point) + wavePhases[i]);
                int j = i + WavesPerAxis;
                bend.Y += waveAmplitudes[j] * MathF.Sin(Vector2.Dot(waveDirections[j], point) + wavePhases[j]);
            }
            var q = point + bend - new Vector2(0.5f);
            q.X = q.X * aspect - slant * q.Y;   // y points down, so a positive slant leans the top to the right
            return new Vector2(q.X * cosRotation - q.Y * sinRotation, q.X * sinRotation + q.Y * cosRotation);
        }

        /// <summary>Pen width at each point: pressure varies slowly along the stroke.</summary>
        public float[] WidthsAlong(List<Vector2> points)
        {
            float[] widths = new float[points.Count];
            float travelled = 0;
            for (int i = 0; i < points.Count; i++)
            {
                if (i > 0) travelled += Vector2.Distance(points[i - 1], points[i]);
                widths[i] = PenWidth * (1 + widthVariation * MathF.Sin(2 * MathF.PI * travelled / widthWaveLength + widthWavePhase));
            }
            return widths;
        }
    }
}
