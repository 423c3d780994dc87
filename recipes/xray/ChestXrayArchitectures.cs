using Recipes.Runtime.Models.Backbones;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Models.Surgery;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>
/// The backbones the recipe can put under CheXNet's head. ResNet-18 comes with ImageNet weights (the ONNX model
/// the runtime imports); ResNet-50 (the seed's) and DenseNet-121 (CheXNet's) are built here in torchvision's layout
/// and take ImageNet weights from a file the user brings (<c>--weights</c>), or start from random weights.
/// </summary>
public static class ChestXrayArchitectures
{
    public const string ResNet18 = "resnet18";
    public const string ResNet50 = "resnet50";
    public const string DenseNet121 = "densenet121";
    public static IReadOnlyList<string> Names { get; } = [ResNet18, ResNet50, DenseNet121];

    /// <summary>A new network for training: the backbone with its ImageNet weights where it has them.</summary>
    /// <param name="dropoutStream">Seeds the dropout masks: one per replica of a data-parallel run.</param>
    public static ChestXrayNetwork Create(string architecture, int findings, string? weightsFile, TextWriter log, long dropoutStream = 0) =>
        Build(architecture, findings, pretrained: true, weightsFile, log, dropoutStream);

    /// <summary>The same network with placeholder weights, for loading saved weights into.</summary>
    public static ChestXrayNetwork CreateEmpty(string architecture, int findings) =>
        Build(architecture, findings, pretrained: false, weightsFile: null, TextWriter.Null, dropoutStream: 0);

    /// <summary>The network a saved model describes, ready for its weights (<c>SavedModel&lt;ChestXrayModelDescription&gt;.Load</c>):
    /// frozen as it was trained, in evaluation mode.</summary>
    public static ChestXrayNetwork CreateForSavedModel(ChestXrayModelDescription description)
    {
        var network = CreateEmpty(description.Architecture, description.Findings.Count);
        try
        {
            network.FreezeUpTo(description.FrozenUpTo);
            network.eval();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    static ChestXrayNetwork Build(string architecture, int findings, bool pretrained, string? weightsFile, TextWriter log, long dropoutStream)
    {
        switch (architecture)
        {
            case ResNet18:
            {
                if (weightsFile is not null)
                    throw new ArgumentException("--weights is for resnet50 and densenet121; resnet18 always starts from the ImageNet weights the runtime imports");
                // The ONNX ResNet-18 takes BGR pixels minus a mean image; its convolutional stages end at layer4.
                Sequential backbone;
                InputNormalisation normalisation;
                if (pretrained)
                {
                    using var preprocessing = ImageNetResNet18.LoadPreprocessing();
                    backbone = ImageNetResNet18.LoadBackbone();
                    normalisation = new InputNormalisation(preprocessing.ChannelOrder.ToArray(), preprocessing.MeanImage.clone(), ones(1, 1, 1, 1));
                }
                else
                {
                    backbone = ResNetBackbone.Build(ResNetLayout.CntkImageNetResNet18);
                    normalisation = new InputNormalisation([2, 1, 0], zeros(1, 3, ImageNetResNet18.ImageSize, ImageNetResNet18.ImageSize), ones(1, 1, 1, 1));
                }
                var stages = GraphSurgery.CutAt(backbone, ResNetBackbone.StageName(3));
                return new ChestXrayNetwork(normalisation, stages, ResNetLayout.CntkImageNetResNet18.FeatureLength, findings, dropoutStream: dropoutStream);
            }
            case ResNet50:
            case DenseNet121:
            {
                var backbone = architecture == ResNet50 ? ImageNetBackbones.ResNet50() : ImageNetBackbones.DenseNet121();
                if (pretrained && weightsFile is not null)
                {
                    var (loaded, ignored) = ImageNetBackbones.LoadWeights(backbone, weightsFile);
                    log.WriteLine($"Backbone {backbone.Description}: {loaded} tensors loaded from {weightsFile} ({ignored} not used)");
                }
                else if (pretrained)
                    log.WriteLine($"warning: {architecture} starts from RANDOM weights (no --weights FILE given: bring ImageNet weights in TorchSharp's format); expect far lower AUC than with ImageNet weights");
                var stages = backbone.Features as Sequential ?? nn.Sequential(("backbone", backbone.Features));
                return new ChestXrayNetwork(InputNormalisation.TorchvisionImageNet(), stages, backbone.Channels, findings, dropoutStream: dropoutStream);
            }
            default:
                throw new ArgumentException($"unknown architecture '{architecture}' (known: {string.Join(", ", Names)})");
        }
    }
}
