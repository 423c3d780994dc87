using System.Buffers;
using Recipes.Runtime.Data;

namespace Recipes.Runtime.Vision;

/// <summary>
/// What happens to every image on its way to a model: safe decoding, the transform chain, and conversion to
/// channels x height x width floats in a chosen channel order and scale. The seed of each image's random
/// transforms is derived from (<see cref="Seed"/>, pass, image index), never from a shared generator, so parallel
/// decoding gives the same tensors as sequential decoding.
/// </summary>
public sealed record ImagePipeline
{
    public ImageOperation Transform { get; init; } = ImageOperation.None;
    public ColourOrder ColourOrder { get; init; } = ColourOrder.Rgb;
    /// <summary>Multiplies every value on conversion to floats (1/255 for models that take 0..1).</summary>
    public float Scale { get; init; } = 1f;
    public SafeImageDecoder Decoder { get; init; } = SafeImageDecoder.Default;
    /// <summary>When set, a corrupt, truncated or oversized file ends the run instead of being skipped and counted.</summary>
    public bool Strict { get; init; }
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Decodes and transforms one image with the generator for (pass, index); an unusable file, or an image an op
    /// refuses (<see cref="ImageRefusedException"/>), is a <see cref="DataFileException"/> naming it.
    /// </summary>
    public RgbFrame Process(ImageEntry entry, long pass, int index)
    {
        try
        {
            return Transformed(entry, pass, index);
        }
        catch (ImageRefusedException refused)
        {
            throw new DataFileException(entry.Origin, refused.Problem, refused);
        }
    }

    RgbFrame Transformed(ImageEntry entry, long pass, int index)
    {
        var random = RandomFor(pass, index);
        var operations = Transform is ImageChain chain ? chain.Operations : [Transform];
        RgbFrame frame;
        int next = 0;
        if (operations.Count > 0 && operations[0] is IResizeOperation resize)
        {
            // A leading resize works from the decoded bytes (same result, no full-size float copy of the photograph).
            using var image = entry.DecodeImage(Decoder);
            var (width, height) = resize.OutputSize(image.Width, image.Height, random);
            frame = Resize.FromDecoded(image, width, height);
            next = 1;
        }
        else
        {
            frame = entry.Decode(Decoder);
        }
        for (; next < operations.Count; next++)
        {
            var output = operations[next].Apply(frame, random);
            // Nothing outside this loop has seen the intermediate frames: their buffers go back to the pool.
            if (!ReferenceEquals(output.Buffer, frame.Buffer)) frame.Recycle();
            frame = output;
        }
        return frame;
    }

    /// <summary>The generator for image <paramref name="index"/> in pass <paramref name="pass"/> (an epoch, a batch seed).</summary>
    public Random RandomFor(long pass, int index) => new(MixSeed(Seed, pass, index));

    /// <summary>
    /// Runs <see cref="Process"/> and converts to CHW floats; a <see cref="DataFileException"/> is returned as the
    /// problem (or thrown when <see cref="Strict"/>), anything else (a wrong op setting) is thrown.
    /// </summary>
    internal ProcessedImage ProcessToChw(ImageEntry entry, long pass, int index)
    {
        RgbFrame frame;
        try
        {
            frame = Process(entry, pass, index);
        }
        catch (DataFileException error) when (!Strict)
        {
            return new ProcessedImage(entry, null, 0, 0, error.Problem);
        }
        // Pooled: the values only wait here until they are copied into their batch.
        float[] chw = ArrayPool<float>.Shared.Rent(RgbFrame.Channels * frame.Width * frame.Height);
        frame.CopyChw(chw, ColourOrder, Scale);
        frame.Recycle();
        return new ProcessedImage(entry, chw, frame.Width, frame.Height, null);
    }

    // SplitMix64's finaliser: nearby inputs (image 7 and 8) give unrelated seeds.
    internal static int MixSeed(long seed, long pass, long index)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)pass * 0xC2B2AE3D27D4EB4FUL ^ (ulong)index * 0x165667B19E3779F9UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return unchecked((int)z);
    }
}

/// <summary>One image after the pipeline: its CHW values in a pooled buffer, or why it was skipped.</summary>
sealed class ProcessedImage(ImageEntry entry, float[]? chw, int width, int height, string? problem)
{
    float[]? _chw = chw;

    public ImageEntry Entry { get; } = entry;
    public int Width { get; } = width;
    public int Height { get; } = height;
    public string? Problem { get; } = problem;

    /// <summary>Copies the values into their place in a batch and returns the buffer to the pool (once).</summary>
    public void MoveTo(Span<float> destination)
    {
        var chw = _chw ?? throw new InvalidOperationException($"{Entry.Origin}: no values to copy (skipped or already moved)");
        chw.AsSpan(0, RgbFrame.Channels * Width * Height).CopyTo(destination);
        _chw = null;
        ArrayPool<float>.Shared.Return(chw);
    }
}
