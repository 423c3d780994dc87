using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Recipes.Runtime.Models.Backbones;

/// <summary>
/// torchvision's <c>Bottleneck</c> (ResNet v1.5): 1x1 convolution to <c>width</c> channels, 3x3 convolution carrying
/// the stride, 1x1 convolution to <c>4 * width</c>, each with batch norm; the shortcut is the input, or
/// <c>downsample</c> (1x1 convolution with the stride, batch norm) where the shape changes.
/// </summary>
sealed class Bottleneck : Module<Tensor, Tensor>
{
    public const int Expansion = 4;

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly Conv2d conv3;
    readonly BatchNorm2d bn3;
    readonly Sequential? downsample;

    public Bottleneck(int inputChannels, int width, int stride) : base(nameof(Bottleneck))
    {
        int outputChannels = width * Expansion;
        conv1 = Conv2d(inputChannels, width, 1, bias: false);
        bn1 = BatchNorm2d(width);
        conv2 = Conv2d(width, width, 3, stride: stride, padding: 1, bias: false);
        bn2 = BatchNorm2d(width);
        conv3 = Conv2d(width, outputChannels, 1, bias: false);
        bn3 = BatchNorm2d(outputChannels);
        if (stride != 1 || inputChannels != outputChannels)
            downsample = Sequential(
                Conv2d(inputChannels, outputChannels, 1, stride: stride, bias: false),
                BatchNorm2d(outputChannels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var reduced = conv1.forward(input);
        using var reducedNormalised = bn1.forward(reduced);
        using var reducedActivated = nn.functional.relu(reducedNormalised);
        using var spatial = conv2.forward(reducedActivated);
        using var spatialNormalised = bn2.forward(spatial);
        using var spatialActivated = nn.functional.relu(spatialNormalised);
        using var expanded = conv3.forward(spatialActivated);
        using var expandedNormalised = bn3.forward(expanded);
        using var shortcut = downsample is null ? input.alias() : downsample.forward(input);
        using var sum = expandedNormalised.add(shortcut);
        return nn.functional.relu(sum);
    }
}

/// <summary>
/// A bottleneck ResNet feature extractor with torchvision's module names (conv1, bn1, layer1..layer4, each a sequence
/// of blocks named 0, 1, ...), without the average pooling and classifier: it returns the last feature map.
/// </summary>
sealed class BottleneckResNetFeatures : Module<Tensor, Tensor>
{
    static readonly int[] StageWidths = [64, 128, 256, 512];

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly MaxPool2d maxpool;
    readonly Sequential layer1;
    readonly Sequential layer2;
    readonly Sequential layer3;
    readonly Sequential layer4;

    public BottleneckResNetFeatures(IReadOnlyList<int> blocksPerStage) : base(nameof(BottleneckResNetFeatures))
    {
        if (blocksPerStage.Count != StageWidths.Length || blocksPerStage.Any(blocks => blocks < 1))
            throw new ArgumentException($"a bottleneck ResNet has {StageWidths.Length} stages of at least one block each");
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        int channels = 64;
        var stages = new Sequential[StageWidths.Length];
        for (int s = 0; s < StageWidths.Length; s++)
        {
            var blocks = new List<(string, Module<Tensor, Tensor>)>();
            for (int b = 0; b < blocksPerStage[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                blocks.Add((b.ToString(CultureInfo.InvariantCulture), new Bottleneck(channels, StageWidths[s], stride)));
                channels = StageWidths[s] * Bottleneck.Expansion;
            }
            stages[s] = Sequential(blocks);
        }
        (layer1, layer2, layer3, layer4) = (stages[0], stages[1], stages[2], stages[3]);
        Channels = channels;
        RegisterComponents();
    }

    /// <summary>Channels of the last feature map.</summary>
    public int Channels { get; }

    public override Tensor forward(Tensor input)
    {
        using var stem = conv1.forward(input);
        using var stemNormalised = bn1.forward(stem);
        using var stemActivated = nn.functional.relu(stemNormalised);
        using var pooled = maxpool.forward(stemActivated);
        using var stage1 = layer1.forward(pooled);
        using var stage2 = layer2.forward(stage1);
        using var stage3 = layer3.forward(stage2);
        return layer4.forward(stage3);
    }
}
