using System.Collections.Concurrent;
using Recipes.Runtime.Data;
using Recipes.Runtime.Training;

namespace Recipes.Runtime.Vision;

/// <summary>
/// An image set as an <see cref="IBatchSource"/> for the <see cref="Trainer"/>: each requested batch is decoded
/// and transformed in parallel on demand, so the set never has to fit in memory. Random transforms are seeded
/// per image from the pipeline seed, the image index and the step's seed (<see cref="BatchSeed"/>), which the Trainer sets from
/// (seed, iteration) before every step: augmentations differ between epochs, do not depend on how many
/// replicas share the batch, and repeat exactly after a resume. A file that cannot be used is recorded in
/// <see cref="Skipped"/> and replaced by the next usable image, keeping batch shapes whole (strict pipelines
/// throw instead).
/// </summary>
public sealed class ImageBatchSource : IBatchSource
{
    readonly ImageSet _images;
    readonly ConcurrentDictionary<int, bool> _unusable = new();

    public ImageBatchSource(ImageSet images, ImagePipeline pipeline, int workers = 0)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        _images = images;
        Pipeline = pipeline;
        Workers = workers == 0 ? Environment.ProcessorCount : workers;
    }

    public ImagePipeline Pipeline { get; }
    public int Workers { get; }
    public SkippedImages Skipped { get; } = new();
    public int Count => _images.Count;

    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        int[] wanted = indices.ToArray();
        if (wanted.Length == 0) throw new ArgumentException("an empty batch was requested");
        long pass = BatchSeed.Current;
        var images = new ProcessedImage[wanted.Length];
        Parallel.For(0, wanted.Length, new ParallelOptions { MaxDegreeOfParallelism = Workers }, slot => images[slot] = ProcessUsable(wanted[slot], pass));

        var first = images[0];
        int size = RgbFrame.Channels * first.Width * first.Height;
        float[] data = GC.AllocateUninitializedArray<float>(images.Length * size);
        long[] labels = new long[images.Length];
        for (int i = 0; i < images.Length; i++)
        {
            if (images[i].Width != first.Width || images[i].Height != first.Height)
                throw new DataFileException(images[i].Entry.Origin,
                    $"is {images[i].Width}x{images[i].Height} after the transforms but the batch holds {first.Width}x{first.Height} images; end the transforms with a fixed-size resize or crop");
            images[i].MoveTo(data.AsSpan(i * size, size));
            labels[i] = images[i].Entry.Label;
        }
        return (tensor(data, [images.Length, RgbFrame.Channels, first.Height, first.Width]), tensor(labels, [images.Length]));
    }

    ProcessedImage ProcessUsable(int index, long pass)
    {
        for (int attempt = 0; attempt < Count; attempt++)
        {
            int candidate = (index + attempt) % Count;
            if (_unusable.ContainsKey(candidate)) continue;
            // The seed follows the requested index, so a substitute is augmented as that sample would have been.
            var image = Pipeline.ProcessToChw(_images[candidate], pass, index);
            if (image.Problem is null) return image;
            _unusable[candidate] = true;
            Skipped.Add(image.Entry.Origin, image.Problem);
        }
        throw new DataFileException(_images[index].Origin, $"none of the {Count} images of the set could be decoded");
    }
}
