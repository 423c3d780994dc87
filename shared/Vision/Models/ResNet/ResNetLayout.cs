namespace Recipes.Runtime.Models.ResNet;

/// <summary>Zero (or, for max pooling, minus-infinity) padding added to each side of a feature map.</summary>
public readonly record struct SidePadding(int Top, int Left, int Bottom, int Right)
{
    public bool IsSymmetric => Top == Bottom && Left == Right;

    /// <summary>
    /// "Same" padding as CNTK (the exporter of the ImageNet model) computes it: the output size is the input
    /// size divided by the stride, and when the total padding is odd the extra row and column go at the
    /// top and left. On even input sizes torchvision's symmetric padding gives the same numbers (its extra
    /// bottom and right rows are never reached by a stride-2 window); TensorFlow's "same", which puts the
    /// extra row at the bottom, shifts every window by a pixel and does not.
    /// </summary>
    public static SidePadding Same(int kernel, int stride)
    {
        int total = Math.Max(kernel - stride, 0);
        int begin = (total + 1) / 2, end = total / 2;
        return new SidePadding(begin, begin, end, end);
    }

    /// <summary>From an ONNX <c>pads</c> attribute: [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right].</summary>
    public static SidePadding FromOnnxPads(IReadOnlyList<long> pads) =>
        new(checked((int)pads[0]), checked((int)pads[1]), checked((int)pads[2]), checked((int)pads[3]));

    public override string ToString() => $"(top {Top}, left {Left}, bottom {Bottom}, right {Right})";
}

/// <summary>A bias-free square convolution followed by batch normalisation.</summary>
public sealed record ConvolutionSpec(int InChannels, int OutChannels, int Kernel, int Stride, SidePadding Padding);

/// <summary>A basic residual block: two 3x3 convolutions, and a 1x1 projection shortcut where the shape changes.</summary>
public sealed record BasicBlockSpec(ConvolutionSpec First, ConvolutionSpec Second, ConvolutionSpec? Projection);

/// <summary>
/// The shape of a basic-block ResNet: the stem (7x7 convolution, then 3x3 max pooling), the stages of
/// residual blocks, and a global average pool. The importer reads one off an ONNX graph; tests build
/// small ones to stay fast.
/// </summary>
public sealed record ResNetLayout(ConvolutionSpec Stem, int PoolKernel, int PoolStride, SidePadding PoolPadding,
    IReadOnlyList<IReadOnlyList<BasicBlockSpec>> Stages, double BatchNormEpsilon)
{
    public int FeatureLength => Stages[^1][^1].Second.OutChannels;

    public int ConvolutionCount => 1 + Stages.Sum(stage => stage.Sum(block => block.Projection is null ? 2 : 3));

    /// <summary>
    /// The layout of the ImageNet ResNet-18 in NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1, as
    /// read off its graph: CNTK "same" padding, and three blocks in the last stage (22 convolutions), not
    /// torchvision's two.
    /// </summary>
    public static ResNetLayout CntkImageNetResNet18 { get; } = Create([2, 2, 2, 3], [64, 128, 256, 512], inputChannels: 3);

    /// <summary>A basic-block ResNet with CNTK "same" padding: each stage but the first halves the size.</summary>
    public static ResNetLayout Create(IReadOnlyList<int> blocksPerStage, IReadOnlyList<int> widths, int inputChannels = 3, double batchNormEpsilon = 1e-5)
    {
        if (blocksPerStage.Count == 0 || blocksPerStage.Count != widths.Count || blocksPerStage.Any(b => b < 1))
            throw new ArgumentException("every stage needs a width and at least one block");
        var stem = new ConvolutionSpec(inputChannels, widths[0], 7, 2, SidePadding.Same(7, 2));
        var stages = new List<IReadOnlyList<BasicBlockSpec>>();
        int channels = widths[0];
        for (int s = 0; s < widths.Count; s++)
        {
            var blocks = new List<BasicBlockSpec>();
            for (int b = 0; b < blocksPerStage[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                var first = new ConvolutionSpec(channels, widths[s], 3, stride, SidePadding.Same(3, stride));
                var second = new ConvolutionSpec(widths[s], widths[s], 3, 1, SidePadding.Same(3, 1));
                var projection = stride != 1 || channels != widths[s]
                    ? new ConvolutionSpec(channels, widths[s], 1, stride, SidePadding.Same(1, stride))
                    : null;
                blocks.Add(new BasicBlockSpec(first, second, projection));
                channels = widths[s];
            }
            stages.Add(blocks);
        }
        return new ResNetLayout(stem, 3, 2, SidePadding.Same(3, 2), stages, batchNormEpsilon);
    }

    /// <summary>The size of the last stage's feature maps for an input of the given size.</summary>
    public (long Height, long Width) FeatureMapSize(long inputHeight, long inputWidth)
    {
        var (height, width) = Shrink(inputHeight, inputWidth, Stem.Kernel, Stem.Stride, Stem.Padding);
        (height, width) = Shrink(height, width, PoolKernel, PoolStride, PoolPadding);
        foreach (var block in Stages.SelectMany(stage => stage))
            (height, width) = Shrink(height, width, block.First.Kernel, block.First.Stride, block.First.Padding);
        return (height, width);
    }

    static (long, long) Shrink(long height, long width, int kernel, int stride, SidePadding padding) =>
        ((height + padding.Top + padding.Bottom - kernel) / stride + 1, (width + padding.Left + padding.Right - kernel) / stride + 1);

    /// <summary>Value equality over the stages too (records compare lists by reference).</summary>
    public bool SameAs(ResNetLayout other) =>
        Stem == other.Stem && PoolKernel == other.PoolKernel && PoolStride == other.PoolStride && PoolPadding == other.PoolPadding
        && BatchNormEpsilon.Equals(other.BatchNormEpsilon) && Stages.Count == other.Stages.Count
        && Stages.Zip(other.Stages).All(pair => pair.First.SequenceEqual(pair.Second));
}
