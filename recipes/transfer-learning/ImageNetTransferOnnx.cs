using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.Onnx;
using TorchSharp.Modules;

namespace Recipes.TransferLearning;

/// <summary>
/// A transfer-learning classifier (<see cref="ImageNetTransfer.CreateClassifier"/>: frozen prefix, trained layers,
/// linear head) as one ONNX model over images, its input preprocessing included, for serving through ONNX Runtime.
/// </summary>
public static class ImageNetTransferOnnx
{
    /// <summary>
    /// Input <c>images</c> [batch, 3, H, W]: RGB 0..255 at the preprocessing's size (224x224), put in the model's
    /// channel order and minus its mean image inside the graph, exactly as <see cref="ResNetPreprocessing.Apply"/>;
    /// outputs <c>logits</c> and <c>probabilities</c> (softmax over the classes) [batch, classes].
    /// </summary>
    public static ModelProto ToOnnx(Sequential classifier, ResNetPreprocessing preprocessing, int classCount)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(preprocessing);
        var graph = new OnnxGraphBuilder("ImageNetTransferClassifier");
        string images = graph.Input("images", 3, preprocessing.Height, preprocessing.Width);
        string reordered = graph.Gather(images, preprocessing.ChannelOrder.ToArray(), axis: 1);
        string preprocessed = graph.Sub(reordered, graph.Initializer("preprocess.mean_image", preprocessing.MeanImage));
        string logits = graph.Module(classifier, preprocessed);
        graph.Output("logits", logits, classCount);
        graph.Output("probabilities", graph.Softmax(logits, axis: 1), classCount);
        return graph.Build($"ImageNet ResNet-18 transfer classifier, {classCount} classes; RGB 0..255 in, preprocessing inside");
    }

    /// <summary>Writes <see cref="ToOnnx"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, Sequential classifier, ResNetPreprocessing preprocessing, int classCount) =>
        OnnxExport.Save(path, ToOnnx(classifier, preprocessing, classCount));
}
