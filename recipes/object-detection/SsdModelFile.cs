using System.Text.Json;
using System.Text.Json.Serialization;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Models;
using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>What a saved detector is: enough to rebuild the network and name its classes.</summary>
public sealed record SsdModelDescription(
    [property: JsonPropertyName("backbone")] string Backbone,
    [property: JsonPropertyName("classes")] IReadOnlyList<string> Classes,
    [property: JsonPropertyName("image_size")] int ImageSize,
    [property: JsonPropertyName("frozen_up_to")] string? FrozenUpTo,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("data_source")] string DataSource,
    [property: JsonPropertyName("test_map")] double? TestMap);

/// <summary>The saved model: the weights (TorchSharp's format, written atomically) and a JSON description beside them.</summary>
public static class SsdModelFile
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string DescriptionPath(string weightsPath) => Path.ChangeExtension(weightsPath, ".json");

    public static void Save(string weightsPath, SsdNetwork network, SsdModelDescription description)
    {
        ModelWeightsFile.Save(weightsPath, network);
        AtomicFile.WriteAllText(DescriptionPath(weightsPath), JsonSerializer.Serialize(description, Json) + "\n");
    }

    public static SsdDetector Load(string weightsPath)
    {
        string descriptionPath = DescriptionPath(weightsPath);
        if (!File.Exists(weightsPath)) throw new DataFileException(weightsPath, "no saved model here (train one first, or pass --model)");
        if (!File.Exists(descriptionPath)) throw new DataFileException(descriptionPath, "the model's description is missing (it is written beside model.bin)");
        SsdModelDescription description;
        try
        {
            description = JsonSerializer.Deserialize<SsdModelDescription>(File.ReadAllText(descriptionPath))
                ?? throw new DataFileException(descriptionPath, "empty model description");
        }
        catch (JsonException error)
        {
            throw new DataFileException(descriptionPath, $"not a model description ({error.Message})", error);
        }
        if (description.Classes is not { Count: > 0 }) throw new DataFileException(descriptionPath, "the description lists no classes");
        var network = new SsdNetwork(DetectionBackbones.Create(description.Backbone, pretrained: false), description.Classes.Count, description.ImageSize);
        ModelWeightsFile.LoadInto(weightsPath, network);
        network.Backbone.FreezeUpTo(description.FrozenUpTo);
        network.eval();
        return new SsdDetector(network, description);
    }
}

/// <summary>A trained detector ready to use: images in, detections in the images' own pixels out.</summary>
public sealed class SsdDetector(SsdNetwork network, SsdModelDescription description) : IDisposable
{
    public SsdNetwork Network => network;
    public SsdModelDescription Description => description;
    public SsdPostProcessing PostProcessing { get; init; } = new();

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
