using System.CommandLine;

namespace Recipes.ObjectDetection;

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record DetectionSettings(
    string Backbone, string? FreezeUpTo, int ImageSize, int Scenes, bool Download, string VocYear, bool SkipBad,
    ApInterpolation Metric, double Threshold, int WarmupEpochs, double MaxZoomOut);

/// <summary>The options this recipe adds to the common ones, and its <c>predict</c> and <c>evaluate</c> commands.</summary>
public sealed class DetectionOptions
{
    public DetectionOptions(RootCommand root)
    {
        Backbone = new Option<string>("--backbone") { Description = $"Backbone: {string.Join(", ", DetectionBackbones.Names)} (resnet18 starts from ImageNet weights, mobilenetv2 from scratch)", DefaultValueFactory = _ => DetectionBackbones.ResNet18 };
        FreezeUpTo = new Option<string?>("--freeze-up-to") { Description = "Last ResNet-18 stage kept frozen (stem, layer1, layer2; 'none' trains everything)", DefaultValueFactory = _ => "layer2" };
        ImageSize = new Option<int>("--image-size") { Description = "Side of the square input in pixels (a multiple of 32)", DefaultValueFactory = _ => 320 };
        Scenes = new Option<int>("--scenes") { Description = "Generated scenes for the offline run (80% train, 10% validation, 10% test)", DefaultValueFactory = _ => 600 };
        Download = new Option<bool>("--download") { Description = "Download PASCAL VOC (see --voc-year) into the cache" };
        VocYear = new Option<string>("--voc-year") { Description = "PASCAL VOC release to download: 2007 (trainval + test, 0.9 GB) or 2012 (trainval, 1.9 GB)", DefaultValueFactory = _ => "2007" };
        SkipBad = new Option<bool>("--skip-bad") { Description = "Skip (and count) images with malformed annotations or that do not decode, instead of stopping", Recursive = true };
        Metric = new Option<string>("--metric") { Description = "Average precision: voc (all points, VOC2010 and later) or voc07 (11-point)", DefaultValueFactory = _ => "voc", Recursive = true };
        Threshold = new Option<double>("--threshold") { Description = "Score from which a detection is drawn", DefaultValueFactory = _ => 0.5, Recursive = true };
        WarmupEpochs = new Option<int>("--warmup-epochs") { Description = "Epochs of linear learning-rate warm-up", DefaultValueFactory = _ => 1 };
        MaxZoomOut = new Option<double>("--max-zoom-out") { Description = "Largest zoom-out of the training augmentation (the image on a canvas this many times larger; the paper's 4 pays off over long trainings, 2 learns faster in a short one)", DefaultValueFactory = _ => 2 };
        Model = new Option<string?>("--model") { Description = "Saved model (default: <output>/model.bin)" };
        Images = new Option<string>("--images") { Description = "Folder of images (or video frames) to detect objects in", Required = true };
        GroundTruth = new Option<string>("--ground-truth") { Description = "Folder of ground-truth text files: <class> <left> <top> <right> <bottom> [difficult]", Required = true };
        Detections = new Option<string>("--detections") { Description = "Folder of detection text files: <class> <confidence> <left> <top> <right> <bottom>", Required = true };
        foreach (var option in new Option[] { Backbone, FreezeUpTo, ImageSize, Scenes, Download, VocYear, SkipBad, Metric, Threshold, WarmupEpochs, MaxZoomOut })
            root.Options.Add(option);
        PredictCommand = new Command("predict", "Detect objects in every image of a folder with a saved model: annotated images, an animated GIF and text files") { Model, Images };
        EvaluateCommand = new Command("evaluate", "Score detections against ground truth, both as text files (one per image): per-class AP and the mAP") { GroundTruth, Detections };
        root.Subcommands.Add(PredictCommand);
        root.Subcommands.Add(EvaluateCommand);
    }

    public Option<string> Backbone { get; }
    public Option<string?> FreezeUpTo { get; }
    public Option<int> ImageSize { get; }
    public Option<int> Scenes { get; }
    public Option<bool> Download { get; }
    public Option<string> VocYear { get; }
    public Option<bool> SkipBad { get; }
    public Option<string> Metric { get; }
    public Option<double> Threshold { get; }
    public Option<int> WarmupEpochs { get; }
    public Option<double> MaxZoomOut { get; }
    public Option<string?> Model { get; }
    public Option<string> Images { get; }
    public Option<string> GroundTruth { get; }
    public Option<string> Detections { get; }
    public Command PredictCommand { get; }
    public Command EvaluateCommand { get; }

    public DetectionSettings Read(ParseResult parsed)
    {
        string backbone = parsed.GetValue(Backbone)!;
        if (!DetectionBackbones.Names.Contains(backbone)) throw new ArgumentException($"--backbone {backbone}: known backbones are {string.Join(", ", DetectionBackbones.Names)}");
        int size = parsed.GetValue(ImageSize), scenes = parsed.GetValue(Scenes), warmup = parsed.GetValue(WarmupEpochs);
        // The imported ResNet-18 keeps the fixed "same" padding CNTK computed for even sizes: at every stride the map
        // must halve exactly, so the input is a multiple of 32 (320 rather than the paper's 300); below 288 the extra
        // layers after the stride-32 map run out of cells.
        if (size < 288 || size % 32 != 0) throw new ArgumentException($"--image-size {size}: a multiple of 32, at least 288 (default 320)");
        if (scenes < 20) throw new ArgumentException($"--scenes {scenes}: at least 20 are needed for three splits");
        if (warmup < 0) throw new ArgumentException($"--warmup-epochs {warmup}: 0 or more");
        string year = parsed.GetValue(VocYear)!;
        if (year is not ("2007" or "2012")) throw new ArgumentException($"--voc-year {year}: 2007 or 2012");
        double threshold = parsed.GetValue(Threshold);
        if (threshold is not (>= 0 and <= 1)) throw new ArgumentException($"--threshold {threshold}: between 0 and 1");
        double zoomOut = parsed.GetValue(MaxZoomOut);
        if (!(zoomOut is >= 1 and <= 16)) throw new ArgumentException($"--max-zoom-out {zoomOut}: between 1 (no zoom-out) and 16");
        string? freeze = parsed.GetValue(FreezeUpTo);
        if (backbone == DetectionBackbones.MobileNetV2 && parsed.GetResult(FreezeUpTo) is null or { Implicit: true }) freeze = null; // nothing pretrained to keep
        return new DetectionSettings(backbone, freeze, size, scenes, parsed.GetValue(Download), year, parsed.GetValue(SkipBad),
            ParseMetric(parsed.GetValue(Metric)!), threshold, warmup, zoomOut);
    }

    public static ApInterpolation ParseMetric(string metric) => metric switch
    {
        "voc" => ApInterpolation.AllPoints,
        "voc07" => ApInterpolation.ElevenPoint,
        _ => throw new ArgumentException($"--metric {metric}: voc (all points) or voc07 (11 points)"),
    };
}
