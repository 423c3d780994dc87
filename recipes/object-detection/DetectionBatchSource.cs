using Recipes.Runtime.Data;
using Recipes.Runtime.Training;
using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>
/// Annotated images as mini-batches for the trainer: each requested image is decoded, sent through the box-aware
/// augmentation (its boxes move with its pixels) and resized to the network's square input; its objects are then
/// matched to the default boxes (<see cref="SsdTargets"/>). Inputs are [N, 3, size, size] pixels 0..255, targets
/// [N, rows, 6]. Random choices are seeded by (pipeline seed, the trainer's step seed, image index), so they differ
/// between epochs, not between replica counts, and repeat after a resume. An image that cannot be decoded ends the
/// run with an error naming it (the readers check every image before training, so this means it changed since).
/// </summary>
public sealed class DetectionBatchSource(IReadOnlyList<AnnotatedImage> images, BoxAwareOperation augmentation, SsdTargets targets,
    ImagePipeline decoding, int workers = 0) : IBatchSource
{
    readonly int _workers = workers > 0 ? workers : Environment.ProcessorCount;

    public IReadOnlyList<AnnotatedImage> Images => images;
    public int Count => images.Count;

    /// <summary>The augmentation for evaluation: only the resize to the network's input.</summary>
    public static BoxAwareOperation ResizeOnly(int size) => new BoxFollowingOperation(new Resize(size, size));

    /// <summary>Decodes one image and applies the augmentation; labels are indices into the image's objects.</summary>
    public FrameWithBoxes Prepare(int index, long pass)
    {
        var image = images[index];
        var frame = decoding.Process(new ImageEntry(image.Path), pass, index);
        if (frame.Width != image.Width || frame.Height != image.Height)
            throw new DataFileException(image.Path, $"is {frame.Width}x{frame.Height} pixels but its annotation says {image.Width}x{image.Height}");
        var start = new FrameWithBoxes(frame, image.Objects.Select(o => o.Box).ToList(), Enumerable.Range(0, image.Objects.Count).ToList());
        return augmentation.Apply(start, decoding.RandomFor(pass, index));
    }

    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        int[] wanted = indices.ToArray();
        if (wanted.Length == 0) throw new ArgumentException("an empty batch was requested");
        long pass = BatchSeed.Current;
        var prepared = new FrameWithBoxes[wanted.Length];
        var problems = new DataFileException?[wanted.Length];
        Parallel.For(0, wanted.Length, new ParallelOptions { MaxDegreeOfParallelism = _workers }, slot =>
        {
            try { prepared[slot] = Prepare(wanted[slot], pass); }
            catch (DataFileException problem) { problems[slot] = problem; } // thrown below as itself, not wrapped
        });
        if (problems.FirstOrDefault(problem => problem is not null) is { } first) throw first;

        int width = prepared[0].Frame.Width, height = prepared[0].Frame.Height, size = RgbFrame.Channels * width * height;
        float[] pixels = GC.AllocateUninitializedArray<float>(wanted.Length * size);
        float[] rows = new float[wanted.Length * targets.ValuesPerImage];
        Parallel.For(0, wanted.Length, new ParallelOptions { MaxDegreeOfParallelism = _workers }, i =>
        {
            var (frame, boxes, labels) = prepared[i];
            if (frame.Width != width || frame.Height != height)
                throw new InvalidOperationException($"{images[wanted[i]].Path} is {frame.Width}x{frame.Height} after the augmentation, the batch {width}x{height}");
            frame.CopyChw(pixels.AsSpan(i * size, size), decoding.ColourOrder, decoding.Scale);
            var objects = new List<SsdTargets.ObjectTarget>(boxes.Count);
            for (int b = 0; b < boxes.Count; b++)
            {
                var source = images[wanted[i]].Objects[labels[b]];
                objects.Add(new SsdTargets.ObjectTarget((float)(boxes[b].Left / width), (float)(boxes[b].Top / height),
                    (float)(boxes[b].Right / width), (float)(boxes[b].Bottom / height), source.ClassIndex, source.Difficult));
            }
            var written = rows.AsSpan(i * targets.ValuesPerImage, targets.ValuesPerImage);
            targets.Write(objects, written);
            // A box that the augmentation squeezed to nothing would encode as log(0): never let it reach the loss.
            for (int v = 0; v < written.Length; v++)
                if (!float.IsFinite(written[v]))
                    throw new InvalidOperationException($"{images[wanted[i]].Path}: target value {written[v]} (row {v / SsdTargets.Width}) after {string.Join(" -> ", frame.History)}");
        });
        return (tensor(pixels, [wanted.Length, RgbFrame.Channels, height, width]), tensor(rows, [wanted.Length, targets.Rows, SsdTargets.Width]));
    }
}
