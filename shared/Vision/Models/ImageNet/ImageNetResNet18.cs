using Recipes.Runtime.Models.ResNet;
using TorchSharp.Modules;

namespace Recipes.Runtime.Models.ImageNet;

/// <summary>Where frozen ImageNet features are computed.</summary>
public enum FeatureBackend
{
    /// <summary>ONNX Runtime on the original model: the fast way to extract frozen features.</summary>
    OnnxRuntime,

    /// <summary>The imported TorchSharp network: the same numbers (within 1e-3), and it can be fine-tuned.</summary>
    TorchSharp,
}

/// <summary>
/// The pretrained ImageNet ResNet-18 of NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18: its preprocessing,
/// the network imported into TorchSharp (to cut, freeze and fine-tune) and frozen feature extraction on
/// either backend. Input: 224x224 images, RGB 0-255, through <see cref="LoadPreprocessing"/>. Output of the
/// backbone (cut at <c>pool</c>): 512 features per image.
/// </summary>
public static class ImageNetResNet18
{
    public const int ImageSize = 224;
    public const int FeatureLength = 512;

    /// <summary>The backbone as a chain of named stages (stem, layer1..layer4, pool) with the ImageNet weights.</summary>
    public static Sequential LoadBackbone() => ResNetOnnxImporter.Import(DnnImageModelFiles.ResNet18);

    public static ResNetPreprocessing LoadPreprocessing() => ResNetPreprocessing.Load(DnnImageModelFiles.ResNetPreprocess);

    /// <param name="intraOpThreads">threads per operator; 0 lets the backend choose</param>
    public static IImageFeatureExtractor FeatureExtractor(FeatureBackend backend, int intraOpThreads = 0) => backend switch
    {
        FeatureBackend.OnnxRuntime => new OnnxImageModelSession(DnnImageModelFiles.ResNet18, intraOpThreads),
        FeatureBackend.TorchSharp => new TorchFeatureExtractor(LoadBackbone(), FeatureLength),
        _ => throw new ArgumentOutOfRangeException(nameof(backend)),
    };
}
