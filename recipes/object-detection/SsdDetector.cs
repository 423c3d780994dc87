using Recipes.Runtime.Models;
using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>A trained detector ready to use: images in, detections in the images' own pixels out.</summary>
public sealed class SsdDetector(SsdNetwork network, SsdModelDescription description) : IDisposable
{
    public SsdNetwork Network => network;
    public SsdModelDescription Description => description;
    public SsdPostProcessing PostProcessing { get; init; } = new();

    /// <summary>The detector saved at <paramref name="weightsPath"/> (<c>model.bin</c> and its <c>model.json</c>): the
    /// network rebuilt as its description says, frozen as it was trained, with its weights, in evaluation mode.</summary>
    public static SsdDetector Load(string weightsPath)
    {
        var loaded = SavedModel<SsdModelDescription>.Load(weightsPath, saved =>
        {
            var empty = new SsdNetwork(DetectionBackbones.Create(saved.Backbone, pretrained: false), saved.Classes.Count, saved.ImageSize);
            try
            {
                empty.Backbone.FreezeUpTo(saved.FrozenUpTo);
                empty.eval();
                return empty;
            }
            catch
            {
                empty.Dispose();
                throw;
            }
        });
        return new SsdDetector(loaded.Model, loaded.Description);
    }

    /// <summary>The detections of one image file (decoded safely: an image that does not decode is a DataFileException naming it).</summary>
    public IReadOnlyList<Detection> Detect(string imagePath) => DetectAll([imagePath])[0];

    /// <summary>
    /// The detections of many image files, a batch at a time (decoding in parallel, one forward pass per batch, each
    /// batch's tensors freed before the next), in the images' own pixels. <paramref name="progress"/> hears how many are done.
    /// </summary>
    public IReadOnlyList<Detection>[] DetectAll(IReadOnlyList<string> imagePaths, int batchSize = 16, Action<int>? progress = null)
    {
        var decoding = new ImagePipeline { Strict = true, Transform = new Resize(description.ImageSize, description.ImageSize) };
        var results = new IReadOnlyList<Detection>[imagePaths.Count];
        network.eval();
        for (int start = 0; start < imagePaths.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, imagePaths.Count - start), size = RgbFrame.Channels * description.ImageSize * description.ImageSize;
            var pixels = new float[count * size];
            var originalSizes = new (int Width, int Height)[count];
            Parallel.For(0, count, i =>
            {
                var frame = decoding.Process(new ImageEntry(imagePaths[start + i]), 0, start + i);
                // The resize recorded how it scaled the image: its inverse gives the original size.
                originalSizes[i] = ((int)Math.Round(frame.Width / frame.FromSource.ScaleX), (int)Math.Round(frame.Height / frame.FromSource.ScaleY));
                frame.CopyChw(pixels.AsSpan(i * size, size));
            });
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var output = network.forward(tensor(pixels, [count, RgbFrame.Channels, description.ImageSize, description.ImageSize]));
            var detections = PostProcessing.Detect(output, network.DefaultBoxes);
            for (int i = 0; i < count; i++)
                results[start + i] = detections[i].Select(d => d.InPixels(originalSizes[i].Width, originalSizes[i].Height)).ToList();
            progress?.Invoke(start + count);
        }
        return results;
    }

    public void Dispose() => network.Dispose();
}
