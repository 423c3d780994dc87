using Recipes.Runtime.Data;
using Recipes.Runtime.Training;
using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>
/// Chest X-rays as mini-batches for the trainer: each requested batch is decoded and transformed in parallel on
/// demand (a split of the full release is far too big to keep in memory), giving images [N, 3, H, W] of 0..255
/// pixels and multi-hot targets [N, 14]. Random transforms are seeded by (pipeline seed, the trainer's step
/// seed, sample index), so augmentation differs between epochs, does not depend on how many replicas share a
/// batch, and repeats after a resume. An image that cannot be decoded ends the run with an error naming it:
/// substituting another image would silently change what the metrics measure.
/// </summary>
public sealed class ChestXrayBatchSource(IReadOnlyList<ChestXrayImage> images, ImagePipeline pipeline, int workers = 0) : IBatchSource
{
    readonly int _workers = workers > 0 ? workers : Environment.ProcessorCount;

    public IReadOnlyList<ChestXrayImage> Images => images;
    public int Count => images.Count;

    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        int[] wanted = indices.ToArray();
        if (wanted.Length == 0) throw new ArgumentException("an empty batch was requested");
        long pass = BatchSeed.Current;
        var frames = new RgbFrame[wanted.Length];
        var problems = new DataFileException?[wanted.Length];
        Parallel.For(0, wanted.Length, new ParallelOptions { MaxDegreeOfParallelism = _workers }, slot =>
        {
            try
            {
                frames[slot] = pipeline.Process(new ImageEntry(images[wanted[slot]].Path), pass, wanted[slot]);
            }
            catch (DataFileException problem)
            {
                problems[slot] = problem; // thrown below as itself, not wrapped in the loop's AggregateException
            }
        });
        if (problems.FirstOrDefault(problem => problem is not null) is { } first) throw first;

        int width = frames[0].Width, height = frames[0].Height, size = RgbFrame.Channels * width * height;
        int findings = images[wanted[0]].Labels.Length;
        float[] pixels = GC.AllocateUninitializedArray<float>(wanted.Length * size);
        float[] labels = new float[wanted.Length * findings];
        for (int i = 0; i < wanted.Length; i++)
        {
            if (frames[i].Width != width || frames[i].Height != height)
                throw new DataFileException(images[wanted[i]].Path, $"is {frames[i].Width}x{frames[i].Height} after the transforms, the batch {width}x{height}");
            frames[i].CopyChw(pixels.AsSpan(i * size, size), pipeline.ColourOrder, pipeline.Scale);
            images[wanted[i]].Labels.CopyTo(labels, i * findings);
        }
        return (tensor(pixels, [wanted.Length, RgbFrame.Channels, height, width]), tensor(labels, [wanted.Length, findings]));
    }
}
