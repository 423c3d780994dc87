using Recipes.Runtime.Models.Backbones;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.Onnx;
using Recipes.Runtime.Models.ResNet;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>
/// A backbone that gives the detector several feature maps at once, finest first (strides 8, 16 and 32 of the
/// input: 38, 19 and 10 cells for a 300-pixel image). The detector adds coarser maps of its own after the last.
/// </summary>
public abstract class DetectionBackbone(string name) : nn.Module<Tensor, Tensor[]>(name)
{
    /// <summary>Channels of each feature map returned by forward, in order.</summary>
    public abstract IReadOnlyList<int> Channels { get; }

    /// <summary>What the backbone is and where its weights came from, for the log and the model file.</summary>
    public abstract string Description { get; }

    /// <summary>Freezes the stages up to and including <paramref name="lastFrozenStage"/> (null: none).</summary>
    public abstract void FreezeUpTo(string? lastFrozenStage);

    public abstract string? LastFrozenStage { get; }

    /// <summary>Writes <c>forward</c> (evaluation mode) into an ONNX graph: returns the feature maps' value names, in order.</summary>
    public abstract IReadOnlyList<string> WriteOnnx(OnnxGraphBuilder graph, string images, string name);
}

/// <summary>The names of the backbones the recipe offers.</summary>
public static class DetectionBackbones
{
    public const string ResNet18 = "resnet18";
    public const string MobileNetV2 = "mobilenetv2";
    public static IReadOnlyList<string> Names { get; } = [ResNet18, MobileNetV2];

    /// <param name="pretrained">Load the ImageNet weights (ResNet-18 only); false builds the same network to load a saved model into.</param>
    public static DetectionBackbone Create(string name, bool pretrained) => name switch
    {
        ResNet18 => new ResNet18Features(pretrained),
        MobileNetV2 => new MobileNetV2Features(),
        _ => throw new ArgumentException($"unknown backbone '{name}' (known: {string.Join(", ", Names)})"),
    };
}

/// <summary>
/// The runtime's ImageNet ResNet-18 (imported from ONNX) as a detection backbone: the outputs of layer2, layer3
/// and layer4. The pixels are normalised as the ImageNet model expects (BGR minus the mean colour of its mean
/// image: the mean image itself is 224x224, our input 300x300). Batch norm stays as ImageNet trained it (frozen
/// statistics and affine weights): a detector sees a few images per replica, too few to estimate batch statistics.
/// </summary>
public sealed class ResNet18Features : DetectionBackbone
{
    readonly InputNormalisation normalise;
    readonly Sequential stem;
    readonly Sequential layer1;
    readonly Sequential layer2;
    readonly Sequential layer3;
    readonly Sequential layer4;
    readonly List<(string Name, nn.Module<Tensor, Tensor> Stage)> _stages;
    int _frozenStages;

    public ResNet18Features(bool pretrained) : base(nameof(ResNet18Features))
    {
        Sequential backbone;
        if (pretrained)
        {
            using var preprocessing = ImageNetResNet18.LoadPreprocessing();
            backbone = ImageNetResNet18.LoadBackbone();
            normalise = new InputNormalisation(preprocessing.ChannelOrder.ToArray(), tensor(preprocessing.ChannelMeans()).view(1, 3, 1, 1), ones(1, 1, 1, 1));
            Description = "ResNet-18 (ImageNet weights, imported from the ONNX model of NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18)";
        }
        else
        {
            backbone = ResNetBackbone.Build(ResNetLayout.CntkImageNetResNet18);
            normalise = new InputNormalisation([2, 1, 0], zeros(1, 3, 1, 1), ones(1, 1, 1, 1));
            Description = "ResNet-18";
        }
        var children = backbone.named_children().ToDictionary(child => child.name, child => child.module);
        stem = nn.Sequential(("stem", (nn.Module<Tensor, Tensor>)children[ResNetBackbone.StemName]));
        layer1 = (Sequential)children[ResNetBackbone.StageName(0)];
        layer2 = (Sequential)children[ResNetBackbone.StageName(1)];
        layer3 = (Sequential)children[ResNetBackbone.StageName(2)];
        layer4 = (Sequential)children[ResNetBackbone.StageName(3)];
        RegisterComponents();
        _stages = [("stem", stem), ("layer1", layer1), ("layer2", layer2), ("layer3", layer3), ("layer4", layer4)];
        foreach (var module in modules().OfType<BatchNorm2d>())
            foreach (var parameter in module.parameters()) parameter.requires_grad = false;
        train(training);
    }

    public override IReadOnlyList<int> Channels { get; } = [128, 256, 512];

    public override string Description { get; }

    public override void FreezeUpTo(string? lastFrozenStage)
    {
        if (lastFrozenStage is null or "none") { _frozenStages = 0; return; }
        int last = _stages.FindIndex(stage => stage.Name == lastFrozenStage);
        if (last < 0) throw new ArgumentException($"no stage named '{lastFrozenStage}'; the stages are: none, {string.Join(", ", _stages.Select(s => s.Name))}");
        _frozenStages = last + 1;
        foreach (var (_, stage) in _stages.Take(_frozenStages))
            foreach (var parameter in stage.parameters()) parameter.requires_grad = false;
    }

    public override string? LastFrozenStage => _frozenStages == 0 ? null : _stages[_frozenStages - 1].Name;

    public override void train(bool on = true)
    {
        base.train(on);
        foreach (var module in modules().OfType<BatchNorm2d>()) module.train(false);
    }

    public override Tensor[] forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        Tensor x = normalise.forward(images);
        var maps = new List<Tensor>();
        for (int s = 0; s < _stages.Count; s++)
        {
            // A frozen stage needs no graph: running it without one saves the memory and time of keeping it.
            using (s < _frozenStages ? no_grad() : null)
                x = _stages[s].Stage.forward(x);
            if (s >= 2) maps.Add(x); // layer2, layer3, layer4
        }
        foreach (var map in maps) map.MoveToOuterDisposeScope();
        return maps.ToArray();
    }

    public override IReadOnlyList<string> WriteOnnx(OnnxGraphBuilder graph, string images, string name)
    {
        string x = graph.Module(normalise, images, $"{name}.normalise");
        var maps = new List<string>();
        for (int s = 0; s < _stages.Count; s++)
        {
            x = graph.Module(_stages[s].Stage, x, $"{name}.{_stages[s].Name}");
            if (s >= 2) maps.Add(x); // layer2, layer3, layer4, as forward
        }
        return maps;
    }
}

/// <summary>
/// MobileNetV2 (Sandler et al. 2018), trained from scratch here (no ImageNet weights can be installed on this
/// machine): inverted residual blocks (1x1 expansion, 3x3 depthwise, 1x1 linear projection, a shortcut when the
/// shape allows). The detector reads the last block of stride 8 (32 channels), of stride 16 (96) and the final 1x1
/// convolution at stride 32 (1280). Its batch norm learns, as nothing else would set its statistics.
/// </summary>
public sealed class MobileNetV2Features : DetectionBackbone
{
    // (expansion t, output channels c, repeats n, first stride s) of the paper's Table 2.
    static readonly (int T, int C, int N, int S)[] Settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    readonly Sequential stride8;
    readonly Sequential stride16;
    readonly Sequential stride32;

    public MobileNetV2Features() : base(nameof(MobileNetV2Features))
    {
        var blocks = new List<nn.Module<Tensor, Tensor>> { ConvBnRelu6(3, 32, 3, 2, groups: 1) };
        int channels = 32;
        var groups = new List<List<nn.Module<Tensor, Tensor>>> { blocks };
        for (int g = 0; g < Settings.Length; g++)
        {
            var (t, c, n, s) = Settings[g];
            // Stride 8 ends after the third setting (c = 32), stride 16 after the fifth (c = 96).
            if (g == 3 || g == 5) groups.Add(blocks = []);
            for (int i = 0; i < n; i++)
            {
                blocks.Add(new InvertedResidual(channels, c, i == 0 ? s : 1, t));
                channels = c;
            }
        }
        blocks.Add(ConvBnRelu6(channels, 1280, 1, 1, groups: 1));
        stride8 = nn.Sequential(groups[0].ToArray());
        stride16 = nn.Sequential(groups[1].ToArray());
        stride32 = nn.Sequential(groups[2].ToArray());
        RegisterComponents();
        foreach (var module in modules())
            if (module is Conv2d convolution) nn.init.kaiming_normal_(convolution.weight, mode: nn.init.FanInOut.FanOut);
    }

    public override IReadOnlyList<int> Channels { get; } = [32, 96, 1280];

    public override string Description => "MobileNetV2 (random initial weights, trained from scratch)";

    public override void FreezeUpTo(string? lastFrozenStage)
    {
        if (lastFrozenStage is not (null or "none"))
            throw new ArgumentException("MobileNetV2 starts from random weights here: there is nothing to freeze (use --freeze-up-to none)");
    }

    public override string? LastFrozenStage => null;

    public override Tensor[] forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        // 0..255 pixels to about -1..1: the network learns its own normalisation from there.
        var fine = stride8.forward(images / 127.5f - 1f);
        var middle = stride16.forward(fine);
        var coarse = stride32.forward(middle);
        return [fine.MoveToOuterDisposeScope(), middle.MoveToOuterDisposeScope(), coarse.MoveToOuterDisposeScope()];
    }

    public override IReadOnlyList<string> WriteOnnx(OnnxGraphBuilder graph, string images, string name)
    {
        string scaled = graph.Sub(graph.Mul(images, graph.Scalar("pixel_scale", 1 / 127.5f)), graph.Scalar("pixel_offset", 1f));
        string fine = graph.Module(stride8, scaled, $"{name}.stride8");
        string middle = graph.Module(stride16, fine, $"{name}.stride16");
        return [fine, middle, graph.Module(stride32, middle, $"{name}.stride32")];
    }

    internal static Sequential ConvBnRelu6(int input, int output, int kernel, int stride, int groups) => nn.Sequential(
        nn.Conv2d(input, output, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false),
        nn.BatchNorm2d(output),
        nn.ReLU6());

    sealed class InvertedResidual : nn.Module<Tensor, Tensor>, IOnnxExportable
    {
        readonly Sequential block;
        readonly bool _shortcut;

        public InvertedResidual(int input, int output, int stride, int expansion) : base(nameof(InvertedResidual))
        {
            int hidden = input * expansion;
            var layers = new List<nn.Module<Tensor, Tensor>>();
            if (expansion != 1) layers.Add(ConvBnRelu6(input, hidden, 1, 1, groups: 1));
            layers.Add(ConvBnRelu6(hidden, hidden, 3, stride, groups: hidden));
            // The projection is linear: a ReLU on a narrow bottleneck would destroy information (the paper's point).
            layers.Add(nn.Conv2d(hidden, output, 1, bias: false));
            layers.Add(nn.BatchNorm2d(output));
            block = nn.Sequential(layers.ToArray());
            _shortcut = stride == 1 && input == output;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => _shortcut ? input + block.forward(input) : block.forward(input);

        public string WriteOnnx(OnnxGraphBuilder graph, string input, string name)
        {
            string output = graph.Module(block, input, $"{name}.block");
            return _shortcut ? graph.Add(input, output) : output;
        }
    }
}
