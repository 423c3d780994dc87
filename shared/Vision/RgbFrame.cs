using System.Buffers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Runtime.Vision;

/// <summary>
/// One image as the pipeline sees it: RGB pixels interleaved row by row (height x width x 3) as floats on
/// the 0..255 scale of the decoded bytes, like the float images of the seed's OpenCV pipeline. Floats let
/// normalisation ops produce values outside 0..255 without a second image type; colour ops clamp to 0..255.
/// A frame is treated as immutable: every op returns a new frame (or the same one when it changed nothing).
/// <see cref="FromSource"/> and <see cref="History"/> say how the geometry and the colours got here.
/// </summary>
public sealed class RgbFrame
{
    public const int Channels = 3;

    readonly float[] _pixels;

    /// <summary>
    /// Takes ownership of <paramref name="pixels"/> (height x width x 3, row-major RGB); do not change it
    /// afterwards. The array may be longer than needed (pooled buffers are rounded up): the rest is ignored.
    /// </summary>
    public RgbFrame(int width, int height, float[] pixels, PixelMapping? fromSource = null, IReadOnlyList<string>? history = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.LongLength < (long)width * height * Channels)
            throw new ArgumentException($"a {width}x{height} RGB frame needs {(long)width * height * Channels} values, not {pixels.LongLength}", nameof(pixels));
        Width = width;
        Height = height;
        _pixels = pixels;
        FromSource = fromSource ?? PixelMapping.Identity;
        History = history ?? [];
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>All values, row-major, three per pixel in R, G, B order.</summary>
    public ReadOnlySpan<float> Pixels => _pixels.AsSpan(0, ValueCount);

    /// <summary>Width x height x 3.</summary>
    public int ValueCount => Width * Height * Channels;

    /// <summary>Maps a point of the decoded source image to this frame (resizes, crops, expands and flips compose into it).</summary>
    public PixelMapping FromSource { get; }

    /// <summary>What each op did, in order (for example "brightness +17.3", "crop at (12, 40)").</summary>
    public IReadOnlyList<string> History { get; }

    public float this[int x, int y, int channel] => _pixels[(y * Width + x) * Channels + channel];

    /// <summary>The raw buffer (possibly longer than <see cref="ValueCount"/>), for ops inside the runtime that only read it.</summary>
    internal float[] Buffer => _pixels;

    /// <summary>
    /// A buffer for a new frame of <paramref name="length"/> values, from a pool: pipelines hand the buffers of
    /// intermediate frames back (<see cref="Recycle"/>), so a stream of photographs does not churn the
    /// large-object heap. A buffer never handed back is simply collected.
    /// </summary>
    public static float[] NewBuffer(int length) => ArrayPool<float>.Shared.Rent(length);

    /// <summary>Hands the buffer back to the pool; only for frames nothing else can see any more.</summary>
    internal void Recycle() => ArrayPool<float>.Shared.Return(_pixels);

    /// <summary>A new frame that continues this one's geometry and history.</summary>
    public RgbFrame Derive(int width, int height, float[] pixels, PixelMapping step, string? note) =>
        new(width, height, pixels, FromSource.Then(step), note is null ? History : [.. History, note]);

    /// <summary>The same pixels and geometry with one more line of history.</summary>
    public RgbFrame WithNote(string note) => new(Width, Height, _pixels, FromSource, [.. History, note]);

    /// <summary>A new frame of the same size and geometry with new pixel values.</summary>
    public RgbFrame WithPixels(float[] pixels, string? note) => Derive(Width, Height, pixels, PixelMapping.Identity, note);

    /// <summary>A frame of one colour.</summary>
    public static RgbFrame Filled(int width, int height, float red, float green, float blue)
    {
        int count = checked(width * height * Channels);
        float[] pixels = NewBuffer(count);
        for (int i = 0; i < count; i += Channels)
        {
            pixels[i] = red;
            pixels[i + 1] = green;
            pixels[i + 2] = blue;
        }
        return new RgbFrame(width, height, pixels);
    }

    /// <summary>A frame from packed RGB bytes (width x height x 3, row-major).</summary>
    public static RgbFrame FromRgbBytes(ReadOnlySpan<byte> rgb, int width, int height)
    {
        if (rgb.Length != (long)width * height * Channels)
            throw new ArgumentException($"a {width}x{height} RGB image needs {(long)width * height * Channels} bytes, not {rgb.Length}", nameof(rgb));
        float[] pixels = GC.AllocateUninitializedArray<float>(rgb.Length);
        for (int i = 0; i < rgb.Length; i++) pixels[i] = rgb[i];
        return new RgbFrame(width, height, pixels);
    }

    /// <summary>A frame from a decoded ImageSharp image.</summary>
    public static RgbFrame FromImage(Image<Rgb24> image)
    {
        float[] pixels = NewBuffer(checked(image.Width * image.Height * Channels));
        CopyPixels(image, pixels);
        return new RgbFrame(image.Width, image.Height, pixels);
    }

    /// <summary>Writes the image's bytes as floats, row by row, into the start of <paramref name="target"/>.</summary>
    internal static void CopyPixels(Image<Rgb24> image, float[] target)
    {
        int width = image.Width, height = image.Height;
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < height; y++)
            {
                var row = System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows.GetRowSpan(y));
                var destination = target.AsSpan(y * width * Channels, width * Channels);
                for (int i = 0; i < row.Length; i++) destination[i] = row[i];
            }
        });
    }

    /// <summary>Packed RGB bytes, each value rounded and clamped to 0..255.</summary>
    public byte[] ToRgbBytes() => ToRgbBytes(0, 255);

    /// <summary>
    /// Packed RGB bytes with <paramref name="low"/> shown as 0 and <paramref name="high"/> as 255: how to look at
    /// a normalised frame whose values are no longer on the 0..255 scale.
    /// </summary>
    public byte[] ToRgbBytes(float low, float high)
    {
        if (!(high > low)) throw new ArgumentException($"the display range {low}..{high} is empty");
        float scale = 255f / (high - low);
        byte[] bytes = new byte[ValueCount];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)Math.Clamp(MathF.Round((_pixels[i] - low) * scale), 0, 255);
        return bytes;
    }

    /// <summary>
    /// Bytes for looking at the frame: as they are when every value lies in 0..255, else stretched linearly from
    /// the frame's own smallest to largest value (a normalised frame), which <paramref name="stretchedFrom"/> reports.
    /// </summary>
    public byte[] ToDisplayBytes(out (float Low, float High)? stretchedFrom)
    {
        var (min, max) = ValueRange();
        // Values within half a level of the range round into it (filters leave 255.00002 behind).
        if (min >= -0.5f && max <= 255.5f)
        {
            stretchedFrom = null;
            return ToRgbBytes();
        }
        stretchedFrom = (min, max > min ? max : min + 1);
        return ToRgbBytes(stretchedFrom.Value.Low, stretchedFrom.Value.High);
    }

    /// <summary>The smallest and largest value over all pixels and channels.</summary>
    public (float Min, float Max) ValueRange()
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float value in Pixels)
        {
            if (value < min) min = value;
            if (value > max) max = value;
        }
        return (min, max);
    }

    public override string ToString() => $"{Width}x{Height}";
}
