using Recipes.Runtime.Models.Onnx;

namespace Recipes.Xray;

/// <summary>The network as an ONNX model, for serving through ONNX Runtime.</summary>
public sealed partial class ChestXrayNetwork
{
    /// <summary>
    /// Input <c>images</c> [batch, 3, H, W]: RGB pixels 0..255, normalised inside the graph as in
    /// <see cref="FeatureMap"/> (H and W are fixed where the normalisation subtracts a mean image: 224 for the
    /// ResNet-18). Outputs <c>logits</c> and <c>probabilities</c> (a sigmoid per finding) [batch, findings], as
    /// <see cref="forward"/> in evaluation mode (dropout is the identity), and, with <paramref name="includeMaps"/>,
    /// <c>class_activation_maps</c> [batch, findings, h, w] as <see cref="ForwardWithMaps"/>: the dense layer
    /// applied at every position is a 1x1 convolution with its weights, so the maps come out of the same pass.
    /// </summary>
    public ModelProto ToOnnx(bool includeMaps = true)
    {
        var graph = new OnnxGraphBuilder(nameof(ChestXrayNetwork));
        var (height, width) = normalise.FixedImageSize ?? (-1, -1);
        string images = graph.Input("images", 3, height, width);
        string featureMap = graph.Module(features, graph.Module(normalise, images, "normalise"), "features");
        string pooled = graph.Flatten(graph.GlobalAveragePool(featureMap));
        string logits = graph.Module(dropout, pooled, "dropout"); // the identity at inference
        logits = graph.Linear(logits, classifier, "classifier");
        graph.Output("logits", logits, Findings);
        graph.Output("probabilities", graph.Sigmoid(logits), Findings);
        if (includeMaps)
        {
            using var weight = classifier.weight!.detach().view(Findings, FeatureChannels, 1, 1);
            string maps = graph.Conv(featureMap, weight, classifier.bias, [1, 1], [0, 0, 0, 0], [1, 1], 1, "class_activation_maps.dense");
            graph.Output("class_activation_maps", maps, Findings, null, null);
        }
        return graph.Build($"CheXNet-style classifier of {Findings} findings over {FeatureChannels}-channel features; RGB 0..255 in");
    }

    /// <summary>Writes <see cref="ToOnnx"/> to <paramref name="path"/> atomically.</summary>
    public void ExportOnnx(string path, bool includeMaps = true) => OnnxExport.Save(path, ToOnnx(includeMaps));
}
