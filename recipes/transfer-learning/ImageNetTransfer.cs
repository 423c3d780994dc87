using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Models.Surgery;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.TransferLearning;

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
/// mode: cut at the pooling layer, frozen up to a named layer, with a new linear head. The frozen part runs
/// apart from the trained part: <see cref="TrainingInputs"/> turns preprocessed images into what the trained
/// part takes (ONNX Runtime's 512 features, or the frozen TorchSharp layers' activations), so an estimator can
/// compute them once and train only <see cref="CreateTrainable"/> on them, epoch after epoch.
/// <see cref="CreateClassifier"/> joins frozen and trained parts into one TorchSharp network over images, to
/// save, reload and serve whichever mode trained it.
/// </summary>
public sealed class ImageNetTransfer : IDisposable
{
    readonly Sequential _pretrained;
    readonly FrozenLayers? _frozenPrefix;

    /// <param name="freezeUpTo">the last frozen layer in fine-tuning mode (a path such as <c>layer3</c> or
    /// <c>layer4.0</c>); <c>pool</c> freezes the whole backbone</param>
    public ImageNetTransfer(BackboneTraining mode, int classCount, string freezeUpTo = "layer3", int onnxThreads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        Mode = mode;
        ClassCount = classCount;
        FreezeUpTo = mode == BackboneTraining.FrozenOnnxRuntime ? ResNetBackbone.PoolName : freezeUpTo;
        _pretrained = ImageNetResNet18.LoadBackbone();
        if (!GraphSurgery.LayerNames(_pretrained).Contains(FreezeUpTo))
        {
            _pretrained.Dispose();
            throw new ArgumentException($"no layer named '{freezeUpTo}' to freeze up to; the layers are: {string.Join(", ", GraphSurgery.LayerNames(_pretrained))}", nameof(freezeUpTo));
        }
        Layout = ResNetLayout.CntkImageNetResNet18;
        if (mode == BackboneTraining.FrozenOnnxRuntime)
            FrozenFeatures = new OnnxImageModelSession(DnnImageModelFiles.ResNet18, onnxThreads, batchSize: 16);
        else
            _frozenPrefix = new FrozenLayers(GraphSurgery.Split(_pretrained, FreezeUpTo).UpTo);
    }

    public BackboneTraining Mode { get; }
    public int ClassCount { get; }

    /// <summary>The last frozen layer (<c>pool</c>, the whole backbone, when ONNX Runtime computes the features).</summary>
    public string FreezeUpTo { get; }
    public ResNetLayout Layout { get; }

    /// <summary>ONNX Runtime over the whole backbone in <see cref="BackboneTraining.FrozenOnnxRuntime"/> mode; otherwise null.</summary>
    public OnnxImageModelSession? FrozenFeatures { get; }

    public string Description => Mode == BackboneTraining.FrozenOnnxRuntime
        ? $"ResNet-18 frozen (features by ONNX Runtime), new Linear(512, {ClassCount}) head trained"
        : $"ResNet-18 in TorchSharp frozen up to {FreezeUpTo}, the layers after it and a new Linear(512, {ClassCount}) head trained";

    /// <summary>Preprocessed images [N, 3, 224, 224] to the trained part's inputs: 512 features, or the frozen layers' activations.</summary>
    public Tensor TrainingInputs(Tensor preprocessedImages)
    {
        if (FrozenFeatures is not null) return FrozenFeatures.Extract(preprocessedImages);
        lock (_frozenPrefix!)
            return _frozenPrefix.forward(preprocessedImages);
    }

    /// <summary>The part to train, with the pretrained weights where it has backbone layers: layers
    /// <c>trainable</c> (the backbone after the freeze point; empty when all is frozen) and <c>head</c>.</summary>
    public Sequential CreateTrainable()
    {
        var backbone = ResNetBackbone.Build(Layout);
        backbone.load_state_dict(_pretrained.state_dict());
        var (frozen, trainable) = GraphSurgery.Split(backbone, FreezeUpTo);
        frozen.Dispose();
        return nn.Sequential(("trainable", trainable), ("head", nn.Linear(ImageNetResNet18.FeatureLength, ClassCount)));
    }

    /// <summary>
    /// One network over preprocessed images: a fresh frozen copy of the pretrained layers up to the freeze
    /// point, then <paramref name="trained"/> (made by <see cref="CreateTrainable"/>), whose modules it takes
    /// over. Layers: frozen, trainable, head.
    /// </summary>
    public Sequential CreateClassifier(Sequential trained)
    {
        var backbone = ResNetBackbone.Build(Layout);
        backbone.load_state_dict(_pretrained.state_dict());
        var (upTo, rest) = GraphSurgery.Split(backbone, FreezeUpTo);
        rest.Dispose();
        var parts = trained.named_children().ToDictionary(child => child.name, child => (nn.Module<Tensor, Tensor>)child.module);
        return nn.Sequential(("frozen", new FrozenLayers(upTo)), ("trainable", parts["trainable"]), ("head", parts["head"]));
    }

    public void Dispose()
    {
        _pretrained.Dispose();
        FrozenFeatures?.Dispose();
    }
}
