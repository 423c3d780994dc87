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
/// throw instead): right for training draws, wrong for measuring, where a substitute would count another image
/// twice. Sets that are measured (validation, test) or kept in memory go through <see cref="MaterialiseUsable"/>,
/// which leaves unusable images out instead.
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

        return Assemble(images);
    }

    /// <summary>
    /// Every usable image of the set read once, in order, into memory, with <paramref name="modelInputs"/> (a
    /// frozen backbone, preprocessing) applied batch by batch: an image that cannot be used is recorded in
    /// <see cref="Skipped"/> and left out, never replaced, so the source counts each decodable image exactly once
    /// (a validation accuracy over 23 usable images is over those 23). Throws when no image is usable.
    /// </summary>
    public InMemoryBatchSource MaterialiseUsable(Func<Tensor, Tensor>? modelInputs = null, int batchSize = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        long pass = random.initial_seed();
        var inputs = new List<Tensor>();
        var targets = new List<Tensor>();
        try
        {
            for (int start = 0; start < Count; start += batchSize)
            {
                int count = Math.Min(batchSize, Count - start);
                var images = new ProcessedImage[count];
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Workers }, slot => images[slot] = Pipeline.ProcessToChw(_images[start + slot], pass, start + slot));
                var usable = new List<ProcessedImage>(count);
                foreach (var image in images)
                {
                    if (image.Problem is null) usable.Add(image);
                    else Skipped.Add(image.Entry.Origin, image.Problem);
                }
                if (usable.Count == 0) continue;
                var (input, target) = Assemble(usable);
                if (modelInputs is not null)
                {
                    var decodedInput = input;
                    using (decodedInput) input = modelInputs(decodedInput);
                }
                inputs.Add(input.DetachFromDisposeScope());
                targets.Add(target.DetachFromDisposeScope());
            }
            if (inputs.Count == 0) throw new DataFileException(_images[0].Origin, $"none of the {Count} images of the set could be used ({Skipped.Items[0].Problem}, ...)");
            using var allInputs = torch.cat(inputs, 0);
            using var allTargets = torch.cat(targets, 0);
            return new InMemoryBatchSource(allInputs.alias(), allTargets.alias());
        }
        finally
        {
            foreach (var tensor in inputs.Concat(targets)) tensor.Dispose();
        }
    }

    /// <summary>One batch tensor of processed images (all the same size after the transforms) and their labels.</summary>
    static (Tensor Input, Tensor Target) Assemble(IReadOnlyList<ProcessedImage> images)
    {
        var first = images[0];
        int size = RgbFrame.Channels * first.Width * first.Height;
        float[] data = GC.AllocateUninitializedArray<float>(images.Count * size);
        long[] labels = new long[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            if (images[i].Width != first.Width || images[i].Height != first.Height)
                throw new DataFileException(images[i].Entry.Origin,
                    $"is {images[i].Width}x{images[i].Height} after the transforms but the batch holds {first.Width}x{first.Height} images; end the transforms with a fixed-size resize or crop");
            images[i].MoveTo(data.AsSpan(i * size, size));
            labels[i] = images[i].Entry.Label;
        }
        return (tensor(data, [images.Count, RgbFrame.Channels, first.Height, first.Width]), tensor(labels, [images.Count]));
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
