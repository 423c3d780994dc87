using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Models.Surgery;
using TorchSharp.Modules;

namespace Recipes.Runtime.Models.ImageNet;

/// <summary>How much of the ImageNet backbone a transfer-learning run trains.</summary>
public enum BackboneTraining
{
    /// <summary>
    /// Nothing: ONNX Runtime computes the 512 features of every image once (fast inference on the original
    /// model) and only the new head is trained, on those features.
    /// </summary>
    FrozenOnnxRuntime,

    /// <summary>
    /// The layers after the freeze point: the imported TorchSharp network is frozen up to a named layer
    /// and trained (with the new head) from there on, on images.
    /// </summary>
    FineTuneTorchSharp,
}

/// <summary>
/// The networks of a transfer-learning run on the ImageNet ResNet-18, for either <see cref="BackboneTraining"/>
/// mode: cut at the pooling layer, frozen up to a named layer, with a new linear head. The pretrained weights
/// are imported once and copied into every network <see cref="CreateTrainable"/> makes (one per data-parallel
/// replica). Whatever the mode, <see cref="CreateClassifier"/> turns a trained head into one TorchSharp
/// network over images, so a model trained on ONNX Runtime features can be saved, fine-tuned or served alike.
/// </summary>
public sealed class ImageNetTransfer : IDisposable
{
    readonly Sequential _pretrained;

    /// <param name="freezeUpTo">the last frozen layer in fine-tuning mode (a path such as <c>layer3</c> or
    /// <c>layer4.0</c>); <c>pool</c> freezes the whole backbone</param>
    public ImageNetTransfer(BackboneTraining mode, int classCount, string freezeUpTo = "layer3", int onnxThreads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        Mode = mode;
        ClassCount = classCount;
        FreezeUpTo = freezeUpTo;
        _pretrained = ImageNetResNet18.LoadBackbone();
        if (!GraphSurgery.LayerNames(_pretrained).Contains(freezeUpTo))
        {
            _pretrained.Dispose();
            throw new ArgumentException($"no layer named '{freezeUpTo}' to freeze up to; the layers are: {string.Join(", ", GraphSurgery.LayerNames(_pretrained))}", nameof(freezeUpTo));
        }
        Layout = ResNetLayout.CntkImageNetResNet18;
        if (mode == BackboneTraining.FrozenOnnxRuntime)
            FrozenFeatures = new OnnxImageModelSession(DnnImageModelFiles.ResNet18, onnxThreads, batchSize: 16);
    }

    public BackboneTraining Mode { get; }
    public int ClassCount { get; }
    public string FreezeUpTo { get; }
    public ResNetLayout Layout { get; }

    /// <summary>ONNX Runtime over the whole backbone in <see cref="BackboneTraining.FrozenOnnxRuntime"/> mode; otherwise null.</summary>
    public OnnxImageModelSession? FrozenFeatures { get; }

    public string Description => Mode == BackboneTraining.FrozenOnnxRuntime
        ? "ResNet-18 frozen (features by ONNX Runtime), new Linear(512, " + ClassCount + ") head trained"
        : $"ResNet-18 fine-tuned in TorchSharp, frozen up to {FreezeUpTo}, new Linear(512, {ClassCount}) head";

    /// <summary>What the trainable network takes: 512 features per image when frozen, preprocessed images when fine-tuning.</summary>
    public Tensor TrainingInputs(Tensor preprocessedImages) =>
        FrozenFeatures is not null ? FrozenFeatures.Extract(preprocessedImages) : preprocessedImages.alias();

    /// <summary>A network to train: the head alone over features, or frozen + trainable backbone + head over images.</summary>
    public nn.Module<Tensor, Tensor> CreateTrainable() =>
        Mode == BackboneTraining.FrozenOnnxRuntime
            ? nn.Sequential(("head", NewHead()))
            : CreateClassifier(NewHead(), FreezeUpTo);

    /// <summary>
    /// An image classifier: a fresh copy of the pretrained backbone, frozen up to <paramref name="freezeUpTo"/>,
    /// followed by <paramref name="head"/> (which it takes over). Layers: frozen, trainable, head.
    /// </summary>
    public Sequential CreateClassifier(nn.Module<Tensor, Tensor> head, string freezeUpTo = ResNetBackbone.PoolName)
    {
        var backbone = ResNetBackbone.Build(Layout);
        backbone.load_state_dict(_pretrained.state_dict());
        var (frozen, trainable) = GraphSurgery.FreezeUpTo(GraphSurgery.CutAt(backbone, ResNetBackbone.PoolName), freezeUpTo);
        return GraphSurgery.WithHead(nn.Sequential(("frozen", frozen), ("trainable", trainable)), head);
    }

    /// <summary>The trained head of a network made by <see cref="CreateTrainable"/>.</summary>
    public static nn.Module<Tensor, Tensor> HeadOf(nn.Module<Tensor, Tensor> trained) =>
        (nn.Module<Tensor, Tensor>)trained.named_children().Single(child => child.name == "head").module;

    nn.Module<Tensor, Tensor> NewHead() => nn.Linear(ImageNetResNet18.FeatureLength, ClassCount);

    public void Dispose()
    {
        _pretrained.Dispose();
        FrozenFeatures?.Dispose();
    }
}
