namespace Recipes.Runtime.Vision;

/// <summary>
/// Images of one size ready for a model: <see cref="Data"/> holds <see cref="Count"/> x 3 x height x width floats,
/// with each image's label and origin at the same position.
/// </summary>
public sealed class ImageBatch
{
    public ImageBatch(float[] data, int count, int width, int height, int[] labels, string[] origins)
    {
        if (data.LongLength != (long)count * RgbFrame.Channels * width * height)
            throw new ArgumentException($"{count} images of 3x{height}x{width} need {(long)count * 3 * width * height} values, not {data.LongLength}");
        if (labels.Length != count || origins.Length != count) throw new ArgumentException($"a batch of {count} needs {count} labels and origins");
        Data = data;
        Count = count;
        Width = width;
        Height = height;
        Labels = labels;
        Origins = origins;
    }

    public float[] Data { get; }
    public int Count { get; }
    public int Width { get; }
    public int Height { get; }
    public int[] Labels { get; }
    public string[] Origins { get; }

    /// <summary>Count x 3 x height x width floats, in the caller's dispose scope.</summary>
    public Tensor ToTensor() => tensor(Data, [Count, RgbFrame.Channels, Height, Width]);

    /// <summary>The labels as int64 (what cross-entropy takes), in the caller's dispose scope.</summary>
    public Tensor LabelsTensor() => tensor(Labels.Select(label => (long)label).ToArray(), [Count]);

    /// <summary>Image <paramref name="index"/>'s 3 x height x width values.</summary>
    public ReadOnlySpan<float> Image(int index) => Data.AsSpan(index * RgbFrame.Channels * Width * Height, RgbFrame.Channels * Width * Height);
}
