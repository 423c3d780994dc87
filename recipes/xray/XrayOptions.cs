using System.CommandLine;

namespace Recipes.Xray;

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record XraySettings(
    string Architecture, string? WeightsFile, string? FreezeUpTo, bool ClassWeights, double L2, int WarmupEpochs,
    bool SkipMissing, bool Download, int Parts, int Phantoms);

/// <summary>The options this recipe adds to the common ones, and its <c>predict</c> and <c>evaluate</c> commands.</summary>
public sealed class XrayOptions
{
    public XrayOptions(RootCommand root)
    {
        Architecture = new Option<string>("--architecture") { Description = $"Backbone: {string.Join(", ", ChestXrayArchitectures.Names)}", DefaultValueFactory = _ => ChestXrayArchitectures.ResNet18 };
        Weights = new Option<string?>("--weights") { Description = "ImageNet weights for resnet50 / densenet121 in TorchSharp's format (torchvision names); without them they start from random weights" };
        FreezeUpTo = new Option<string?>("--freeze-up-to") { Description = "Last backbone stage kept frozen (resnet18: stem, layer1 .. layer4; 'none' trains everything)", DefaultValueFactory = _ => "layer2" };
        ClassWeights = new Option<bool>("--class-weights") { Description = "Weight each finding's positives by its negatives/positives ratio in the training set" };
        L2 = new Option<double>("--l2") { Description = "L2 penalty on the dense layer's weights", DefaultValueFactory = _ => 1e-4 };
        WarmupEpochs = new Option<int>("--warmup-epochs") { Description = "Epochs of linear warm-up from 1e-7 to --learning-rate (the seed: 5 of its 50)", DefaultValueFactory = _ => 1 };
        SkipMissing = new Option<bool>("--skip-missing") { Description = "Skip (and count) labelled images whose file is missing instead of stopping", Recursive = true };
        Download = new Option<bool>("--download") { Description = "Download the NIH release (42 GB in 12 archives; see --parts) into the cache" };
        Parts = new Option<int>("--parts") { Description = "With --download: how many of the 12 image archives (about 3.5 GB and 10,000 images each)", DefaultValueFactory = _ => 1 };
        Phantoms = new Option<int>("--phantoms") { Description = "Generated phantom radiographs for the offline run", DefaultValueFactory = _ => 1200 };
        Model = new Option<string?>("--model") { Description = "Saved model (default: <output>/model.bin)" };
        Image = new Argument<string>("image") { Description = "A chest X-ray (PNG or JPEG)" };
        foreach (var option in new Option[] { Architecture, Weights, FreezeUpTo, ClassWeights, L2, WarmupEpochs, SkipMissing, Download, Parts, Phantoms })
            root.Options.Add(option);
        PredictCommand = new Command("predict", "Load a saved model, print the 14 probabilities of an image and write it with the heatmaps of its top findings") { Model, Image };
        EvaluateCommand = new Command("evaluate", "Load a saved model and score every labelled image of --data (NIH layout, no split): AUC per finding, metrics.json") { Model };
        root.Subcommands.Add(PredictCommand);
        root.Subcommands.Add(EvaluateCommand);
    }

    public Option<string> Architecture { get; }
    public Option<string?> Weights { get; }
    public Option<string?> FreezeUpTo { get; }
    public Option<bool> ClassWeights { get; }
    public Option<double> L2 { get; }
    public Option<int> WarmupEpochs { get; }
    public Option<bool> SkipMissing { get; }
    public Option<bool> Download { get; }
    public Option<int> Parts { get; }
    public Option<int> Phantoms { get; }
    public Option<string?> Model { get; }
    public Argument<string> Image { get; }
    public Command PredictCommand { get; }
    public Command EvaluateCommand { get; }

    public XraySettings Read(ParseResult parsed)
    {
        int phantoms = parsed.GetValue(Phantoms), warmup = parsed.GetValue(WarmupEpochs), parts = parsed.GetValue(Parts);
        if (phantoms < 20) throw new ArgumentException($"--phantoms {phantoms}: at least 20 are needed for three patient splits");
        if (warmup < 1) throw new ArgumentException($"--warmup-epochs {warmup}: at least 1");
        if (parts is < 1 or > ChestXrayDownloads.ArchiveCount) throw new ArgumentException($"--parts {parts}: between 1 and {ChestXrayDownloads.ArchiveCount}");
        return new XraySettings(parsed.GetValue(Architecture)!, parsed.GetValue(Weights), parsed.GetValue(FreezeUpTo), parsed.GetValue(ClassWeights),
            parsed.GetValue(L2), warmup, parsed.GetValue(SkipMissing), parsed.GetValue(Download), parts, phantoms);
    }
}
