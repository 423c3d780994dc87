using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Recipes.Runtime.Models.Backbones;

/// <summary>
/// One layer of a dense block, named as torchvision's <c>_DenseLayer</c>: a 1x1 bottleneck to
/// <c>bottleneckWidth * growthRate</c> channels, then a 3x3 convolution to <c>growthRate</c> new channels,
/// each preceded by batch norm and ReLU. Its input is every earlier feature map of the block, concatenated.
/// </summary>
sealed class DenseLayer : Module<Tensor, Tensor>
{
    readonly BatchNorm2d norm1;
    readonly ReLU relu1;
    readonly Conv2d conv1;
    readonly BatchNorm2d norm2;
    readonly ReLU relu2;
    readonly Conv2d conv2;

    public DenseLayer(int inputChannels, int growthRate, int bottleneckWidth) : base(nameof(DenseLayer))
    {
        int bottleneckChannels = bottleneckWidth * growthRate;
        norm1 = BatchNorm2d(inputChannels);
        relu1 = ReLU();
        conv1 = Conv2d(inputChannels, bottleneckChannels, 1, bias: false);
        norm2 = BatchNorm2d(bottleneckChannels);
        relu2 = ReLU();
        conv2 = Conv2d(bottleneckChannels, growthRate, 3, padding: 1, bias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var normalised = norm1.forward(input);
        using var activated = relu1.forward(normalised);
        using var narrowed = conv1.forward(activated);
        using var normalisedNarrow = norm2.forward(narrowed);
        using var activatedNarrow = relu2.forward(normalisedNarrow);
        return conv2.forward(activatedNarrow);
    }
}

/// <summary>
/// A dense block (torchvision's <c>_DenseBlock</c>): layers <c>denselayer1</c>..<c>denselayerN</c>, each fed the
/// concatenation of the block's input and every earlier layer's output; the block returns all of them
/// concatenated, <c>inputChannels + N * growthRate</c> channels.
/// </summary>
sealed class DenseBlock : Module<Tensor, Tensor>
{
    readonly DenseLayer[] _layers;

    public DenseBlock(int layerCount, int inputChannels, int growthRate, int bottleneckWidth) : base(nameof(DenseBlock))
    {
        _layers = new DenseLayer[layerCount];
        for (int i = 0; i < layerCount; i++)
        {
            _layers[i] = new DenseLayer(inputChannels + i * growthRate, growthRate, bottleneckWidth);
            // Registered by hand: the names carry the layer number, as torchvision's ModuleDict keys do.
            register_module($"denselayer{(i + 1).ToString(CultureInfo.InvariantCulture)}", _layers[i]);
        }
    }

    public override Tensor forward(Tensor input)
    {
        // Concatenating afresh for each layer (as torchvision does without memory-efficient checkpointing):
        // writing the layers' outputs into one preallocated tensor would modify in place what earlier layers
        // saved for their backward pass.
        var features = new List<Tensor> { input };
        try
        {
            foreach (var layer in _layers)
            {
                using var concatenated = torch.cat(features, 1);
                features.Add(layer.forward(concatenated));
            }
            return torch.cat(features, 1);
        }
        finally
        {
            foreach (var produced in features.Skip(1)) produced.Dispose();
        }
    }
}

/// <summary>
/// DenseNet feature extractor with torchvision's module names: a single child <c>features</c> (conv0, norm0,
/// relu0, pool0, denseblock1, transition1, ..., denseblockN, norm5), followed by the ReLU that torchvision's
/// <c>DenseNet.forward</c> applies before pooling.
/// </summary>
sealed class DenseNetFeatures : Module<Tensor, Tensor>
{
    readonly Sequential features;

    public DenseNetFeatures(IReadOnlyList<int> blockLayers, int growthRate, int initialChannels, int bottleneckWidth)
        : base(nameof(DenseNetFeatures))
    {
        var stages = new List<(string, Module<Tensor, Tensor>)>
        {
            ("conv0", Conv2d(3, initialChannels, 7, stride: 2, padding: 3, bias: false)),
            ("norm0", BatchNorm2d(initialChannels)),
            ("relu0", ReLU()),
            ("pool0", MaxPool2d(3, stride: 2, padding: 1)),
        };
        int channels = initialChannels;
        for (int b = 0; b < blockLayers.Count; b++)
        {
            string number = (b + 1).ToString(CultureInfo.InvariantCulture);
            stages.Add(($"denseblock{number}", new DenseBlock(blockLayers[b], channels, growthRate, bottleneckWidth)));
            channels += blockLayers[b] * growthRate;
            if (b == blockLayers.Count - 1) break;
            // Transition: halve the channels (compression 0.5) and the resolution.
            int compressed = channels / 2;
            stages.Add(($"transition{number}", Sequential(
                ("norm", BatchNorm2d(channels)),
                ("relu", ReLU()),
                ("conv", Conv2d(channels, compressed, 1, bias: false)),
                ("pool", AvgPool2d(2, stride: 2)))));
            channels = compressed;
        }
        stages.Add(("norm5", BatchNorm2d(channels)));
        features = Sequential(stages);
        Channels = channels;
        RegisterComponents();
    }

    /// <summary>Channels of the last feature map.</summary>
    public int Channels { get; }

    public override Tensor forward(Tensor input)
    {
        using var normalised = features.forward(input);
        return nn.functional.relu(normalised);
    }
}
