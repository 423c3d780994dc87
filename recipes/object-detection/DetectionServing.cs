using System.Globalization;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>
/// <c>object-detection serve</c>: the saved detector behind the HTTP service. <c>/predict</c> resizes the uploaded
/// image to the detector's square input as <see cref="SsdDetector"/> does (the whole image, squeezed: so a box's
/// fractions of the input are fractions of the upload), runs the network, and decodes its raw output with the
/// evaluation's <see cref="SsdPostProcessing"/> (softmax, offsets against the default boxes, per-class non-maximum
/// suppression). It answers the detections scoring at least <c>?threshold=</c> (default 0.5, the recipe's
/// <c>--threshold</c> for pictures), most confident first, corners as fractions of the upload's width and height.
/// The network runs on ONNX Runtime by default, from an export written once beside the weights; <c>--backend
/// torch</c> runs the TorchSharp network. Both give <c>detections</c> [batch, default boxes, 4 + classes + 1].
/// </summary>
public sealed class DetectionServing : ServedModel
{
    public const string ModelName = "object-detection";
    public const double DefaultThreshold = 0.5;

    readonly DefaultBoxes _defaultBoxes;
    readonly int _imageSize;
    readonly SsdPostProcessing _postProcessing = new();

    DetectionServing(IInferenceModel model, IReadOnlyList<string> classes, DefaultBoxes defaultBoxes, int imageSize, double threshold) : base(ModelName, model, ResultKind.Boxes)
    {
        Classes = classes;
        _defaultBoxes = defaultBoxes;
        _imageSize = imageSize;
        Threshold = threshold is >= 0 and <= 1 ? threshold : throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "a score threshold is between 0 and 1");
    }

    public IReadOnlyList<string> Classes { get; }

    /// <summary>The lowest score answered when a request does not say (<c>?threshold=</c>).</summary>
    public double Threshold { get; }

    /// <param name="threshold">the lowest score answered when a request does not give <c>?threshold=</c></param>
    public static ServedModel Load(ServeOptions options, TextWriter log, double threshold = DefaultThreshold)
    {
        string modelPath = options.ModelPath;
        // Loading once checks the files and gives the description, the default boxes and the network to export.
        using var detector = SsdDetector.Load(modelPath);
        var description = detector.Description;
        var network = detector.Network;
        string version = ServedModelLoading.VersionOf(modelPath);
        IInferenceModel model;
        if ((options.Backend ?? ServingBackend.Onnx) == ServingBackend.Onnx)
        {
            string onnxPath = ServedModelLoading.EnsureOnnxExport(modelPath, network.ExportOnnx, log);
            model = ServedModelLoading.StartInference(options, threads => new OnnxRuntimeBackend(onnxPath, ModelName, version, threads));
        }
        else
        {
            var signature = new ModelSignature(ModelName, version, "torchsharp",
                [new TensorSpec("images", TensorDatatype.FP32, [-1, RgbFrame.Channels, network.ImageSize, network.ImageSize])],
                [new TensorSpec("detections", TensorDatatype.FP32, [-1, network.DefaultBoxes.Count, network.ValuesPerBox])]);
            model = ServedModelLoading.StartInference(options, threads => TorchSharpBackend.ForModule(signature, SsdDetector.Load(modelPath).Network, threads));
        }
        log.WriteLine($"Model: SSD{description.ImageSize} ({description.Backbone}) of {string.Join(", ", description.Classes)}, trained on {description.Dataset}, " +
                      $"{model.Signature.Platform}, version {version}");
        return new DetectionServing(model, description.Classes, network.DefaultBoxes, network.ImageSize, threshold);
    }

    public override IReadOnlyList<NamedTensor> ToModelInputs(PredictRequest request)
    {
        var frame = Resize.FromDecoded(request.RequireImage(), _imageSize, _imageSize);
        return [new NamedTensor("images", [1, RgbFrame.Channels, _imageSize, _imageSize], Floats: ServedModelLoading.ChwRow(frame))];
    }

    public override object ToAnswer(PredictRequest request, IReadOnlyList<NamedTensor> outputs)
    {
        double threshold = ThresholdOf(request);
        var output = Output(outputs, "detections");
        if (output.Floats is null || output.Shape is not [1, var boxes, var values] || boxes != _defaultBoxes.Count || values != 4 + Classes.Count + 1)
            throw new InvalidOperationException($"output 'detections' of shape [{string.Join(", ", output.Shape)}] does not fit {_defaultBoxes.Count} default boxes and {Classes.Count} classes");
        List<SsdPostProcessing.RelativeDetection> detections;
        using (var scope = NewDisposeScope())
            detections = _postProcessing.Detect(tensor(output.Floats, output.Shape), _defaultBoxes)[0];
        return new BoxesAnswer(Name,
        [
            .. detections.Where(d => d.Score >= threshold)
                .Select(d => new DetectedBox(Classes[d.ClassIndex], d.Score, d.X1, d.Y1, d.X2, d.Y2)),
        ]);
    }

    public override object? PageSettings => new { labels = Classes, threshold = Threshold };

    /// <summary><c>?threshold=</c>: the lowest score answered, in [0, 1].</summary>
    double ThresholdOf(PredictRequest request)
    {
        if (!request.Parameters.TryGetValue("threshold", out string? text)) return Threshold;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value is >= 0 and <= 1
            ? value
            : throw new InvalidInputException($"parameter 'threshold' must be a number from 0 to 1, not '{text}'");
    }
}
