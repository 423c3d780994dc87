using System.Runtime.CompilerServices;
using Recipes.Runtime.Models;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>
/// <c>xray serve</c>: the saved model behind the HTTP service. <c>/predict</c> gives the uploaded radiograph the
/// evaluation's preprocessing (<see cref="XrayCommands.EvaluationPictures"/>: 256x256, grey, centre 224 crop) and
/// answers the probability of each of the 14 findings (a sigmoid each: a film can show several findings, so they do
/// not sum to 1) and the class activation map of the most probable finding (or of <c>?finding=Name</c>) as a heatmap
/// over the whole upload, as
/// <c>xray predict</c> draws it (<see cref="ClassActivationMaps"/>). The model runs on ONNX Runtime by default, from an
/// export written once beside the weights whose graph gives the maps in the same pass; <c>--backend torch</c> runs
/// <see cref="ChestXrayNetwork.ForwardWithMaps"/>. Both give <c>logits</c>, <c>probabilities</c> and
/// <c>class_activation_maps</c> [batch, findings, 7, 7] (for a 224-pixel crop).
/// </summary>
public sealed class XrayServing : ServedModel
{
    public const string ModelName = "xray";

    /// <summary>The heatmap's longer side in cells: finer than the 7x7 map it comes from, small enough for JSON.</summary>
    public const int HeatmapCells = 64;

    readonly ImageOperation _transform;
    // The frame each request's image became, for ToAnswer to lay the map back over the upload. Keyed by the request
    // object, so concurrent requests never see each other's; entries go with their requests.
    readonly ConditionalWeakTable<PredictRequest, RgbFrame> _frames = new();

    XrayServing(IInferenceModel model, IReadOnlyList<string> findings, ImageOperation transform) : base(ModelName, model, ResultKind.Heatmap)
    {
        Findings = findings;
        _transform = transform;
    }

    public IReadOnlyList<string> Findings { get; }

    public static ServedModel Load(ServeOptions options) => Load(options, Console.Out);

    public static ServedModel Load(ServeOptions options, TextWriter log)
    {
        string modelPath = options.ModelPath;
        // Loading once checks the files and gives the description (and the network, for the export).
        var (network, description) = SavedModel<ChestXrayModelDescription>.Load(modelPath, ChestXrayArchitectures.CreateForSavedModel);
        IInferenceModel model;
        string version = ServedModelLoading.VersionOf(modelPath);
        using (network)
        {
            if ((options.Backend ?? ServingBackend.Onnx) == ServingBackend.Onnx)
            {
                string onnxPath = ServedModelLoading.EnsureOnnxExport(modelPath, path => network.ExportOnnx(path, includeMaps: true), log);
                model = ServedModelLoading.StartInference(options, threads => new OnnxRuntimeBackend(onnxPath, ModelName, version, threads));
            }
            else
            {
                // The maps' size, as ONNX Runtime infers it for the export: the last feature map of one probe image.
                long[] mapShape;
                using (var scope = NewDisposeScope())
                using (no_grad())
                    mapShape = network.FeatureMap(zeros(1, 3, description.Crop, description.Crop)).shape;
                var signature = new ModelSignature(ModelName, version, "torchsharp",
                    [new TensorSpec("images", TensorDatatype.FP32, [-1, 3, description.Crop, description.Crop])],
                    [
                        new TensorSpec("logits", TensorDatatype.FP32, [-1, description.Findings.Count]),
                        new TensorSpec("probabilities", TensorDatatype.FP32, [-1, description.Findings.Count]),
                        new TensorSpec("class_activation_maps", TensorDatatype.FP32, [-1, description.Findings.Count, mapShape[2], mapShape[3]]),
                    ]);
                model = ServedModelLoading.StartInference(options, threads =>
                {
                    var (copy, _) = SavedModel<ChestXrayModelDescription>.Load(modelPath, ChestXrayArchitectures.CreateForSavedModel);
                    return new TorchSharpBackend(signature, inputs =>
                    {
                        var (logits, maps) = copy.ForwardWithMaps(inputs[0]);
                        return [logits, logits.sigmoid(), maps];
                    }, copy, threads);
                });
            }
        }
        log.WriteLine($"Model: {description.Architecture} over {description.Findings.Count} findings, trained on {description.Dataset}, " +
                      $"{model.Signature.Platform}, version {version}");
        return new XrayServing(model, description.Findings, XrayCommands.EvaluationPictures(seed: 1).Transform);
    }

    public override IReadOnlyList<NamedTensor> ToModelInputs(PredictRequest request)
    {
        var frame = ServedModelLoading.Transform(request.RequireImage(), _transform);
        _frames.AddOrUpdate(request, frame);
        return [new NamedTensor("images", [1, RgbFrame.Channels, frame.Height, frame.Width], Floats: ServedModelLoading.ChwRow(frame))];
    }

    public override object ToAnswer(PredictRequest request, IReadOnlyList<NamedTensor> outputs)
    {
        int top = request.IntParameter("top", Findings.Count, 1, Findings.Count);
        var probabilities = Output(outputs, "probabilities").Floats ?? throw new InvalidOperationException("output 'probabilities' is not FP32");
        var maps = Output(outputs, "class_activation_maps");
        if (probabilities.Length != Findings.Count || maps.Shape is not [1, var count, var mapHeight, var mapWidth] || count != Findings.Count)
            throw new InvalidOperationException($"the model gave {probabilities.Length} probabilities and maps of shape [{string.Join(", ", maps.Shape)}] for {Findings.Count} findings");
        if (!_frames.TryGetValue(request, out var frame)) throw new InvalidOperationException("ToAnswer was called without ToModelInputs for this request");

        // Each finding on its own: no softmax, the probabilities are independent.
        var classes = ImageClassifierServing.TopClasses([.. probabilities.Select(p => (double)p)], Findings, top);
        int shown = HeatmapFinding(request, probabilities);
        var map = maps.Floats!.AsSpan(shown * (int)(mapHeight * mapWidth), (int)(mapHeight * mapWidth));
        var image = request.RequireImage();
        var (width, height, heat) = HeatOverUpload(map, (int)mapWidth, (int)mapHeight, frame, image.Width, image.Height);
        return new HeatmapAnswer(Name, classes, Findings[shown], width, height, heat);
    }

    /// <summary>The finding whose map the heatmap shows: <c>?finding=Name</c> (any case), else the most probable one.</summary>
    int HeatmapFinding(PredictRequest request, float[] probabilities)
    {
        if (request.Parameters.TryGetValue("finding", out string? name))
        {
            for (int i = 0; i < Findings.Count; i++)
                if (string.Equals(Findings[i], name, StringComparison.OrdinalIgnoreCase)) return i;
            throw new InvalidInputException($"parameter 'finding' must be one of {string.Join(", ", Findings)}, not '{name}'");
        }
        return ImageClassifierServing.TopClasses([.. probabilities.Select(p => (double)p)], Findings, 1)[0].Index;
    }

    public override object? PageSettings => new { labels = Findings, multi_label = true };

    /// <summary>
    /// A class activation map (cells over the frame the network saw) as a heatmap over the whole uploaded image, at
    /// most <see cref="HeatmapCells"/> cells on its longer side, values in [0, 1]. Each cell's centre is mapped into
    /// the frame through the same resize and crop the image went through (<see cref="RgbFrame.FromSource"/>) and the
    /// map sampled there bilinearly (as <see cref="ClassActivationMaps.Compute"/> upsamples it); values are stretched
    /// between the map's minimum and maximum, as <see cref="ClassActivationMaps.Overlay"/> draws them ("where", not
    /// "how much": the probability says that). Cells outside the crop, which the network never saw, are 0.
    /// </summary>
    public static (int Width, int Height, float[] Heat) HeatOverUpload(ReadOnlySpan<float> map, int mapWidth, int mapHeight, RgbFrame frame, int uploadWidth, int uploadHeight)
    {
        int width = uploadWidth >= uploadHeight ? HeatmapCells : Math.Max(1, (int)Math.Round(HeatmapCells * (double)uploadWidth / uploadHeight));
        int height = uploadHeight >= uploadWidth ? HeatmapCells : Math.Max(1, (int)Math.Round(HeatmapCells * (double)uploadHeight / uploadWidth));
        float low = float.PositiveInfinity, high = float.NegativeInfinity;
        foreach (float value in map)
        {
            low = Math.Min(low, value);
            high = Math.Max(high, value);
        }
        float range = Math.Max(high - low, 1e-6f);
        var heat = new float[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (fx, fy) = frame.FromSource.Map((x + 0.5) * uploadWidth / width, (y + 0.5) * uploadHeight / height);
                if (fx < 0 || fy < 0 || fx > frame.Width || fy > frame.Height) continue; // outside the crop: not seen
                // Into map cells, align_corners=false: cell i covers [i, i+1) and its value sits at i + 0.5.
                double mx = Math.Clamp(fx * mapWidth / frame.Width - 0.5, 0, mapWidth - 1);
                double my = Math.Clamp(fy * mapHeight / frame.Height - 0.5, 0, mapHeight - 1);
                int x0 = (int)mx, y0 = (int)my, x1 = Math.Min(x0 + 1, mapWidth - 1), y1 = Math.Min(y0 + 1, mapHeight - 1);
                double ax = mx - x0, ay = my - y0;
                double value = (1 - ay) * ((1 - ax) * map[y0 * mapWidth + x0] + ax * map[y0 * mapWidth + x1])
                             + ay * ((1 - ax) * map[y1 * mapWidth + x0] + ax * map[y1 * mapWidth + x1]);
                heat[y * width + x] = Math.Clamp((float)((value - low) / range), 0f, 1f);
            }
        return (width, height, heat);
    }
}
