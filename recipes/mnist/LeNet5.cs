using Recipes.Runtime.Models.Onnx;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Recipes.Mnist;

/// <summary>
/// LeNet-5 (LeCun et al., 1998) in its common modern form: two 5x5 convolutions with ReLU and 2x2 max
/// pooling, then three fully connected layers. Input: a batch of 1x28x28 images (padded to the original
/// 32x32 receptive field by the first convolution's padding of 2). Output: one logit per class.
/// About 61,700 parameters.
/// </summary>
public sealed class LeNet5 : Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Module<Tensor, Tensor> _features;
    readonly Module<Tensor, Tensor> _classifier;

    public LeNet5(int classCount = 10) : base(nameof(LeNet5))
    {
        ClassCount = classCount;
        _features = Sequential(
            ("conv1", Conv2d(1, 6, kernel_size: 5, padding: 2)),   // 6 x 28 x 28
            ("relu1", ReLU()),
            ("pool1", MaxPool2d(kernel_size: 2)),                 // 6 x 14 x 14
            ("conv2", Conv2d(6, 16, kernel_size: 5)),             // 16 x 10 x 10
            ("relu2", ReLU()),
            ("pool2", MaxPool2d(kernel_size: 2)));                // 16 x 5 x 5
        _classifier = Sequential(
            ("flatten", Flatten()),
            ("fc1", Linear(16 * 5 * 5, 120)),
            ("relu3", ReLU()),
            ("fc2", Linear(120, 84)),
            ("relu4", ReLU()),
            ("fc3", Linear(84, classCount)));
        RegisterComponents();
    }

    public int ClassCount { get; }

    public override Tensor forward(Tensor input) => _classifier.forward(_features.forward(input));

    public string WriteOnnx(OnnxGraphBuilder graph, string input, string name) =>
        graph.Module(_classifier, graph.Module(_features, input, "features"), "classifier");

    /// <summary>
    /// The network as an ONNX model: input <c>images</c> [batch, 1, 28, 28], outputs <c>logits</c> and
    /// <c>probabilities</c> (softmax) [batch, classes]. With <paramref name="normalisation"/> the graph takes raw
    /// pixels 0..255 and normalises them itself, as the recipe does before the network; without, it takes the
    /// normalised images the network itself sees.
    /// </summary>
    public ModelProto ToOnnx(PixelNormalisation? normalisation = null)
    {
        var graph = new OnnxGraphBuilder(nameof(LeNet5));
        string x = graph.Input("images", 1, 28, 28);
        if (normalisation is not null)
        {
            // (pixel / 255 - mean) / std, as PixelNormalisation.ToBatchSource computes it.
            x = graph.Mul(x, graph.Scalar("pixel_scale", 1f / 255));
            x = graph.Sub(x, graph.Scalar("pixel_mean", (float)normalisation.Mean));
            x = graph.Mul(x, graph.Scalar("pixel_inverse_std", (float)(1 / normalisation.Std)));
        }
        string logits = WriteOnnx(graph, x, nameof(LeNet5));
        graph.Output("logits", logits, ClassCount);
        graph.Output("probabilities", graph.Softmax(logits, axis: 1), ClassCount);
        return graph.Build(normalisation is null
            ? "LeNet-5 over normalised 1x28x28 images"
            : $"LeNet-5 over 1x28x28 pixels 0..255, normalised inside (mean {normalisation.Mean:R}, std {normalisation.Std:R})");
    }

    /// <summary>Writes <see cref="ToOnnx"/> to <paramref name="path"/> atomically.</summary>
    public void ExportOnnx(string path, PixelNormalisation? normalisation = null) => OnnxExport.Save(path, ToOnnx(normalisation));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _features.Dispose();
            _classifier.Dispose();
        }
        base.Dispose(disposing);
    }
}
