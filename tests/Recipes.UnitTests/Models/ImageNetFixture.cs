using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.Onnx;
using TorchSharp.Modules;

namespace Recipes.Tests.Models;

/// <summary>
/// The ImageNet ResNet-18 loaded once for every test that needs it (parsing 63 MB of weights takes seconds):
/// the parsed ONNX model, the imported TorchSharp backbone, the TorchSharp preprocessing and ONNX Runtime
/// sessions over both ONNX graphs.
/// </summary>
public sealed class ImageNetFixture : IDisposable
{
    public ImageNetFixture()
    {
        ModelPath = DnnImageModelFiles.ResNet18;
        PreprocessPath = DnnImageModelFiles.ResNetPreprocess;
        Model = OnnxModelFile.Read(ModelPath);
        Backbone = ImageNetResNet18.LoadBackbone();
        Preprocessing = ImageNetResNet18.LoadPreprocessing();
        OnnxFeatures = new OnnxImageModelSession(ModelPath);
        OnnxPreprocessing = new OnnxImageModelSession(PreprocessPath);
    }

    public string ModelPath { get; }
    public string PreprocessPath { get; }
    public ModelProto Model { get; }
    public Sequential Backbone { get; }
    public ResNetPreprocessing Preprocessing { get; }
    public OnnxImageModelSession OnnxFeatures { get; }
    public OnnxImageModelSession OnnxPreprocessing { get; }

    public void Dispose()
    {
        Backbone.Dispose();
        Preprocessing.Dispose();
        OnnxFeatures.Dispose();
        OnnxPreprocessing.Dispose();
    }
}

// Alone, like ProcessWideState (TestParallelization.cs): several of these classes seed libtorch's generator, and the
// fixture holds the ResNet-18 three times over (ONNX graph, TorchSharp backbone, ONNX Runtime sessions).
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ImageNetCollection : ICollectionFixture<ImageNetFixture>
{
    public const string Name = "ImageNet ResNet-18";
}
