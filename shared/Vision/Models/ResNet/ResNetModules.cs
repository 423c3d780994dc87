using Recipes.Runtime.Models.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Recipes.Runtime.Models.ResNet;

/// <summary>
/// A bias-free convolution and its batch normalisation. Asymmetric padding (CNTK's "same" padding for
/// stride 2) cannot be expressed by a convolution's own padding, so it is applied explicitly before an
/// unpadded convolution; symmetric padding stays inside the convolution.
/// </summary>
public sealed class ConvBatchNorm : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Conv2d conv;
    readonly BatchNorm2d bn;
    readonly long[]? _explicitPadding;

    public ConvBatchNorm(ConvolutionSpec spec, double batchNormEpsilon) : base(nameof(ConvBatchNorm))
    {
        Spec = spec;
        var padding = spec.Padding;
        (long, long) convolutionPadding = padding.IsSymmetric ? (padding.Top, padding.Left) : (0, 0);
        if (!padding.IsSymmetric) _explicitPadding = [padding.Left, padding.Right, padding.Top, padding.Bottom];
        conv = Conv2d(spec.InChannels, spec.OutChannels, (spec.Kernel, spec.Kernel), stride: (spec.Stride, spec.Stride),
            padding: convolutionPadding, bias: false);
        bn = BatchNorm2d(spec.OutChannels, eps: batchNormEpsilon);
        RegisterComponents();
    }

    public ConvolutionSpec Spec { get; }
    public Conv2d Convolution => conv;
    public BatchNorm2d BatchNorm => bn;

    public override Tensor forward(Tensor input)
    {
        if (_explicitPadding is null)
        {
            using var convolved = conv.forward(input);
            return bn.forward(convolved);
        }
        using var padded = nn.functional.pad(input, _explicitPadding, PaddingModes.Constant, 0);
        using var convolvedPadded = conv.forward(padded);
        return bn.forward(convolvedPadded);
    }

    /// <summary>ONNX's Conv takes asymmetric pads itself (as the imported graph had them): no Pad node.</summary>
    public string WriteOnnx(OnnxGraphBuilder graph, string input, string name)
    {
        var padding = Spec.Padding;
        string convolved = graph.Conv(input, conv.weight!, conv.bias, [Spec.Stride, Spec.Stride],
            [padding.Top, padding.Left, padding.Bottom, padding.Right], [1, 1], 1, $"{name}.conv");
        return graph.BatchNorm(convolved, bn, $"{name}.bn");
    }
}

/// <summary>The stem: 7x7 stride-2 convolution, batch norm, ReLU, then 3x3 stride-2 max pooling.</summary>
public sealed class ResNetStem : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly ConvBatchNorm conv;
    readonly long[] _poolPadding;
    readonly long _poolKernel, _poolStride;

    public ResNetStem(ResNetLayout layout) : base(nameof(ResNetStem))
    {
        conv = new ConvBatchNorm(layout.Stem, layout.BatchNormEpsilon);
        var p = layout.PoolPadding;
        _poolPadding = [p.Left, p.Right, p.Top, p.Bottom];
        _poolKernel = layout.PoolKernel;
        _poolStride = layout.PoolStride;
        RegisterComponents();
    }

    public ConvBatchNorm Convolution => conv;

    public override Tensor forward(Tensor input)
    {
        using var normalised = conv.forward(input);
        using var activated = nn.functional.relu(normalised);
        // Max pooling pads with minus infinity so that padding never wins a window (as ONNX MaxPool does).
        using var padded = nn.functional.pad(activated, _poolPadding, PaddingModes.Constant, double.NegativeInfinity);
        return nn.functional.max_pool2d(padded, _poolKernel, _poolStride);
    }

    public string WriteOnnx(OnnxGraphBuilder graph, string input, string name)
    {
        string activated = graph.Relu(conv.WriteOnnx(graph, input, $"{name}.conv"));
        // _poolPadding is torch's [left, right, top, bottom]; ONNX wants [top, left, bottom, right].
        long[] pads = [_poolPadding[2], _poolPadding[0], _poolPadding[3], _poolPadding[1]];
        return graph.MaxPool(activated, [_poolKernel, _poolKernel], [_poolStride, _poolStride], pads);
    }
}

/// <summary>Basic residual block: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)).</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly ConvBatchNorm conv1;
    readonly ConvBatchNorm conv2;
    readonly ConvBatchNorm? projection;

    public BasicBlock(BasicBlockSpec spec, double batchNormEpsilon) : base(nameof(BasicBlock))
    {
        conv1 = new ConvBatchNorm(spec.First, batchNormEpsilon);
        conv2 = new ConvBatchNorm(spec.Second, batchNormEpsilon);
        if (spec.Projection is not null) projection = new ConvBatchNorm(spec.Projection, batchNormEpsilon);
        RegisterComponents();
    }

    /// <summary>The convolutions in the order the ONNX importer fills them: first, second, projection.</summary>
    public IEnumerable<ConvBatchNorm> Convolutions => projection is null ? [conv1, conv2] : [conv1, conv2, projection];

    public override Tensor forward(Tensor input)
    {
        using var first = conv1.forward(input);
        using var activated = nn.functional.relu(first);
        using var second = conv2.forward(activated);
        if (projection is null)
        {
            using var identitySum = second.add(input);
            return nn.functional.relu(identitySum);
        }
        using var shortcut = projection.forward(input);
        using var projectedSum = second.add(shortcut);
        return nn.functional.relu(projectedSum);
    }

    public string WriteOnnx(OnnxGraphBuilder graph, string input, string name)
    {
        string first = graph.Relu(conv1.WriteOnnx(graph, input, $"{name}.conv1"));
        string second = conv2.WriteOnnx(graph, first, $"{name}.conv2");
        string shortcut = projection is null ? input : projection.WriteOnnx(graph, input, $"{name}.projection");
        return graph.Relu(graph.Add(second, shortcut));
    }
}

/// <summary>Global average pooling to one value per channel: [N, C, H, W] to [N, C].</summary>
public sealed class GlobalAveragePooling : Module<Tensor, Tensor>, IOnnxExportable
{
    public GlobalAveragePooling() : base(nameof(GlobalAveragePooling)) { }

    public override Tensor forward(Tensor input) => input.mean([2, 3]);

    public string WriteOnnx(OnnxGraphBuilder graph, string input, string name) => graph.Flatten(graph.GlobalAveragePool(input));
}

/// <summary>
/// Builds a basic-block ResNet as a <c>Sequential</c> of named stages, so graph surgery can cut and
/// freeze by name: <c>stem</c>, <c>layer1</c> .. <c>layerN</c> (each a sequence of blocks named
/// <c>0</c>, <c>1</c>, ...; a block is addressed as <c>layer3.1</c>) and <c>pool</c>, whose output is the
/// feature vector [N, <see cref="ResNetLayout.FeatureLength"/>].
/// </summary>
public static class ResNetBackbone
{
    public const string StemName = "stem";
    public const string PoolName = "pool";

    public static string StageName(int index) => $"layer{index + 1}";

    public static Sequential Build(ResNetLayout layout)
    {
        var stages = new List<(string, Module<Tensor, Tensor>)> { (StemName, new ResNetStem(layout)) };
        for (int s = 0; s < layout.Stages.Count; s++)
        {
            var blocks = layout.Stages[s].Select((block, b) => (b.ToString(System.Globalization.CultureInfo.InvariantCulture),
                (Module<Tensor, Tensor>)new BasicBlock(block, layout.BatchNormEpsilon)));
            stages.Add((StageName(s), Sequential(blocks)));
        }
        stages.Add((PoolName, new GlobalAveragePooling()));
        return Sequential(stages);
    }

    /// <summary>Every convolution of a backbone built by <see cref="Build"/>, in layout order
    /// (stem, then each block's first, second and projection convolution).</summary>
    public static IEnumerable<ConvBatchNorm> Convolutions(Sequential backbone)
    {
        foreach (var (_, stage) in backbone.named_children())
        {
            if (stage is ResNetStem stem) yield return stem.Convolution;
            else if (stage is Sequential blocks)
                foreach (var (_, block) in blocks.named_children())
                    foreach (var convolution in ((BasicBlock)block).Convolutions) yield return convolution;
        }
    }
}
