using Recipes.Runtime.Data;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Recipes.Runtime.Models.Backbones;

/// <summary>
/// ImageNet backbones written in TorchSharp with torchvision's layouts and parameter names, so that torchvision's
/// ImageNet weights, converted to TorchSharp's format (TorchSharp's <c>exportsd.py</c> over a torchvision
/// <c>state_dict()</c>), load with <see cref="LoadWeights"/>. Built with torchvision's initialisation, drawn from
/// libtorch's global generator: seed it (<c>torch.random.manual_seed</c>) first for repeatable weights.
/// </summary>
public static class ImageNetBackbones
{
    /// <summary>
    /// torchvision's densenet121 without its classifier (CheXNet's network): growth 32, blocks (6, 12, 24, 16),
    /// bottleneck 4 x growth, 64 initial channels, compression 0.5, ending with <c>features.norm5</c> and a ReLU.
    /// Module names as torchvision's <c>features.*</c>. 1024 channels; 6,953,856 parameters.
    /// </summary>
    public static ImageBackbone DenseNet121()
    {
        var features = new DenseNetFeatures(blockLayers: [6, 12, 24, 16], growthRate: 32, initialChannels: 64, bottleneckWidth: 4);
        // torchvision: kaiming_normal_ with its defaults (fan in, gain sqrt 2) for every convolution.
        Initialise(features, init.FanInOut.FanIn);
        return new ImageBackbone(features, features.Channels,
            "DenseNet-121 (torchvision layout: growth 32, blocks 6/12/24/16), 1024 channels at 1/32 of the input size");
    }

    /// <summary>
    /// torchvision's resnet50 (v1.5: the stride on the 3x3 convolution) without <c>avgpool</c> and <c>fc</c>:
    /// bottleneck blocks (3, 4, 6, 3), names conv1, bn1, layer1.0.conv1 .. layer4.2.bn3, layerN.0.downsample.0/1.
    /// 2048 channels; 23,508,032 parameters.
    /// </summary>
    public static ImageBackbone ResNet50()
    {
        var features = new BottleneckResNetFeatures(blocksPerStage: [3, 4, 6, 3]);
        // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu"); zero_init_residual is off by default.
        Initialise(features, init.FanInOut.FanOut);
        return new ImageBackbone(features, features.Channels,
            "ResNet-50 (torchvision layout v1.5: bottleneck blocks 3/4/6/3), 2048 channels at 1/32 of the input size");
    }

    /// <summary>
    /// Loads a TorchSharp-format weights file into <paramref name="backbone"/>. Every parameter and buffer of the
    /// backbone must be in the file with the same shape; extra entries (a classifier's <c>fc.*</c> or
    /// <c>classifier.*</c>) are ignored and counted. Floating-point tensors of another precision are converted.
    /// The whole file is checked before anything is copied, so on an error the backbone is unchanged.
    /// </summary>
    /// <returns>How many tensors were loaded, and how many entries of the file were ignored.</returns>
    /// <exception cref="DataFileException">the file is missing, not in the format, truncated, lacks some of the
    /// backbone's tensors or has them in another shape (the message names the first of them)</exception>
    public static (int Loaded, int Ignored) LoadWeights(ImageBackbone backbone, string path)
    {
        using var file = TorchSharpWeightsFile.Open(path);
        var targets = backbone.Features.state_dict();
        var missing = new List<string>();
        var misfits = new List<string>();
        foreach (var (name, target) in targets)
        {
            if (!file.Entries.TryGetValue(name, out var entry))
                missing.Add(name);
            else if (!entry.Shape.SequenceEqual(target.shape))
                misfits.Add($"{name} is [{string.Join(", ", entry.Shape)}] in the file, [{string.Join(", ", target.shape)}] in the backbone");
            else if (!CanConvert(entry.ElementType, target.dtype))
                misfits.Add($"{name} holds {entry.ElementType} in the file, {target.dtype} in the backbone");
        }
        if (missing.Count > 0 || misfits.Count > 0)
            throw new DataFileException(path, DescribeMismatch(backbone, targets.Count, file, missing, misfits));

        using (no_grad())
        {
            foreach (var (name, target) in targets)
            {
                using var loaded = file.ReadTensor(file.Entries[name]);
                target.copy_(loaded);
            }
        }
        return (targets.Count, file.Entries.Count - targets.Count);
    }

    static void Initialise(Module network, init.FanInOut convolutionFanMode)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in network.named_modules())
        {
            switch (module)
            {
                case Conv2d convolution:
                    init.kaiming_normal_(convolution.weight, mode: convolutionFanMode, nonlinearity: init.NonlinearityType.ReLU);
                    break;
                case BatchNorm2d batchNorm:
                    init.ones_(batchNorm.weight);
                    init.zeros_(batchNorm.bias);
                    break;
            }
        }
    }

    static bool CanConvert(ScalarType stored, ScalarType wanted) =>
        IsFloatingPoint(stored) ? IsFloatingPoint(wanted) : stored == wanted || (IsInteger(stored) && IsInteger(wanted));

    static bool IsFloatingPoint(ScalarType type) =>
        type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    static bool IsInteger(ScalarType type) =>
        type is ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64;

    static string DescribeMismatch(ImageBackbone backbone, int expected, TorchSharpWeightsFile file, List<string> missing, List<string> misfits)
    {
        const int Shown = 5;
        static string FirstFew(List<string> items) =>
            string.Join("; ", items.Take(Shown)) + (items.Count > Shown ? $"; and {items.Count - Shown} more" : "");

        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"{missing.Count} of its {expected} tensors missing: {FirstFew(missing)}");
        if (misfits.Count > 0) parts.Add($"{misfits.Count} in another shape or type: {FirstFew(misfits)}");
        string problem = $"does not fit {backbone.Description}: {string.Join("; ", parts)}";
        // Nothing matching at all usually means another network, or names with a prefix (DataParallel's "module.").
        if (missing.Count == expected && file.Entries.Count > 0)
            problem += $" (none of the backbone's names is in the file, whose first names are {string.Join(", ", file.Entries.Keys.Take(3))})";
        return problem;
    }
}
