using System.Text.Json;
using System.Text.Json.Serialization;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Models;
using Recipes.Runtime.Models.Backbones;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Models.Surgery;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>What a saved chest X-ray model is: enough to rebuild the network, feed it images as it was trained
/// and name its outputs, without the training data.</summary>
public sealed record ChestXrayModelDescription(
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("findings")] IReadOnlyList<string> Findings,
    [property: JsonPropertyName("resize")] int Resize,
    [property: JsonPropertyName("crop")] int Crop,
    [property: JsonPropertyName("frozen_up_to")] string? FrozenUpTo,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("data_source")] string DataSource,
    [property: JsonPropertyName("test_mean_auc")] double? TestMeanAuc);

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
    public static ChestXrayNetwork Create(string architecture, int findings, string? weightsFile, TextWriter log) =>
        Build(architecture, findings, pretrained: true, weightsFile, log);

    /// <summary>The same network with placeholder weights, for loading saved weights into.</summary>
    public static ChestXrayNetwork CreateEmpty(string architecture, int findings) =>
        Build(architecture, findings, pretrained: false, weightsFile: null, TextWriter.Null);

    static ChestXrayNetwork Build(string architecture, int findings, bool pretrained, string? weightsFile, TextWriter log)
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
                return new ChestXrayNetwork(normalisation, stages, ResNetLayout.CntkImageNetResNet18.FeatureLength, findings);
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
                return new ChestXrayNetwork(InputNormalisation.TorchvisionImageNet(), stages, backbone.Channels, findings);
            }
            default:
                throw new ArgumentException($"unknown architecture '{architecture}' (known: {string.Join(", ", Names)})");
        }
    }
}

/// <summary>The saved model: the network's weights (TorchSharp's format, written atomically) and a JSON description beside them.</summary>
public static class ChestXrayModelFile
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static string DescriptionPath(string weightsPath) => Path.ChangeExtension(weightsPath, ".json");

    public static void Save(string weightsPath, ChestXrayNetwork network, ChestXrayModelDescription description)
    {
        ModelWeightsFile.Save(weightsPath, network);
        AtomicFile.WriteAllText(DescriptionPath(weightsPath), JsonSerializer.Serialize(description, Json) + "\n");
    }

    public static (ChestXrayNetwork Network, ChestXrayModelDescription Description) Load(string weightsPath)
    {
        string descriptionPath = DescriptionPath(weightsPath);
        if (!File.Exists(weightsPath)) throw new DataFileException(weightsPath, "no saved model here (train one first, or pass --model)");
        if (!File.Exists(descriptionPath)) throw new DataFileException(descriptionPath, "the model's description is missing (it is written beside model.bin)");
        ChestXrayModelDescription description;
        try
        {
            description = JsonSerializer.Deserialize<ChestXrayModelDescription>(File.ReadAllText(descriptionPath))
                ?? throw new DataFileException(descriptionPath, "empty model description");
        }
        catch (JsonException error)
        {
            throw new DataFileException(descriptionPath, $"not a model description ({error.Message})", error);
        }
        var network = ChestXrayArchitectures.CreateEmpty(description.Architecture, description.Findings.Count);
        ModelWeightsFile.LoadInto(weightsPath, network);
        network.FreezeUpTo(description.FrozenUpTo);
        network.eval();
        return (network, description);
    }
}
