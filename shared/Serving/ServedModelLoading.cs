using System.Security.Cryptography;
using Recipes.Runtime.Models;
using Recipes.Runtime.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Serving;

/// <summary>
/// What every recipe's <c>serve</c> loader does the same way: start the <see cref="InferenceModel"/> the serve options
/// ask for, keep an ONNX export of the saved model up to date beside it, name the model's version after its weights,
/// and run an uploaded image through the recipe's evaluation transforms.
/// </summary>
public static class ServedModelLoading
{
    /// <summary>
    /// The model copies and batching of <paramref name="options"/> (<c>--copies</c>, <c>--max-batch</c>,
    /// <c>--max-delay-ms</c>); <paramref name="createCopy"/> makes one copy given the intra-op threads it may use (the
    /// cores shared between the copies, so they do not oversubscribe them).
    /// </summary>
    public static InferenceModel StartInference(ServeOptions options, Func<int, IInferenceBackend> createCopy)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(createCopy);
        int copies = options.Copies ?? InferenceOptions.DefaultCopies();
        int threads = InferenceOptions.IntraOpThreadsPerCopy(copies);
        return new InferenceModel(_ => createCopy(threads), new InferenceOptions(copies, options.MaxBatch, options.MaxDelay));
    }

    /// <summary>
    /// The ONNX export of the saved model at <paramref name="weightsPath"/>: <c>model.onnx</c> beside it, written by
    /// <paramref name="export"/> the first time and again whenever the weights (or their description,
    /// <c>model.json</c>) are newer than it, so a retrained model is never served from a stale export. The export
    /// must write its file atomically (the exporters do: temp file, then rename), so a crash or a second server
    /// starting at the same time never leaves a half-written file where the next start would read it.
    /// </summary>
    public static string EnsureOnnxExport(string weightsPath, Action<string> export, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(export);
        string onnxPath = Path.ChangeExtension(weightsPath, ".onnx");
        var sources = new[] { weightsPath, SavedModel.DescriptionPath(weightsPath) }.Where(File.Exists).ToList();
        DateTime newestSource = sources.Max(File.GetLastWriteTimeUtc);
        if (File.Exists(onnxPath) && File.GetLastWriteTimeUtc(onnxPath) >= newestSource)
        {
            log.WriteLine($"ONNX Runtime backend: {onnxPath} (exported earlier, newer than the weights)");
            return onnxPath;
        }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        export(onnxPath);
        if (!File.Exists(onnxPath)) throw new InvalidOperationException($"the ONNX export did not write {onnxPath}");
        log.WriteLine($"ONNX Runtime backend: exported {onnxPath} ({new FileInfo(onnxPath).Length / 1e6:F1} MB) in {watch.Elapsed.TotalSeconds:F1} s");
        return onnxPath;
    }

    /// <summary>The model's version in <c>/v2/models/{name}</c>: the first 12 hex digits of the weights' SHA-256, so the
    /// same weights always have the same version and a retrained model a new one.</summary>
    public static string VersionOf(string weightsPath)
    {
        using var stream = File.OpenRead(weightsPath);
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..12];
    }

    /// <summary>
    /// An uploaded image through a recipe's deterministic evaluation transforms (resize, crop, grey...): the frame
    /// the network sees, with <see cref="RgbFrame.FromSource"/> mapping the upload's pixels into it. A leading resize
    /// works from the decoded bytes, as <see cref="ImagePipeline"/> does. An image a transform refuses (a panorama too
    /// long for its crop, say) is the client's problem: <see cref="InvalidInputException"/>, a 400.
    /// </summary>
    public static RgbFrame Transform(Image<Rgb24> image, ImageOperation transform, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(transform);
        var random = new Random(seed);
        var operations = transform is ImageChain chain ? chain.Operations : [transform];
        try
        {
            RgbFrame frame;
            int next = 0;
            if (operations.Count > 0 && operations[0] is IResizeOperation resize)
            {
                var (width, height) = resize.OutputSize(image.Width, image.Height, random);
                frame = Resize.FromDecoded(image, width, height);
                next = 1;
            }
            else frame = RgbFrame.FromImage(image);
            for (; next < operations.Count; next++) frame = operations[next].Apply(frame, random);
            return frame;
        }
        catch (ImageRefusedException refused)
        {
            throw new InvalidInputException($"the uploaded {image.Width}x{image.Height} image cannot be used: {refused.Problem}");
        }
    }

    /// <summary>A frame's values as one input row [3, H, W] (RGB, 0..255 as the recipes' networks take them).</summary>
    public static float[] ChwRow(RgbFrame frame)
    {
        var row = new float[frame.ValueCount];
        frame.CopyChw(row);
        return row;
    }
}
