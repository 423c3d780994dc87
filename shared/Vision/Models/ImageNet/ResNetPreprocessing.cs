using Recipes.Runtime.Data;
using Recipes.Runtime.Models.Onnx;

namespace Recipes.Runtime.Models.ImageNet;

/// <summary>
/// The input preprocessing the ImageNet ResNet-18 was trained with, read from its preprocessing graph
/// (ResNetPreprocess.onnx: Split the RGB channels, Concat them as B, G, R, Sub a per-pixel mean image):
/// images as RGB values 0-255 in [N, 3, H, W] become BGR minus the mean image. The channel order is taken
/// from the graph's Split and Concat, and the mean image from its initializer, not assumed.
/// </summary>
public sealed class ResNetPreprocessing : IDisposable
{
    readonly Tensor _meanImage;
    readonly Tensor _channelOrder;

    ResNetPreprocessing(Tensor meanImage, long[] channelOrder)
    {
        _meanImage = meanImage;
        _channelOrder = torch.tensor(channelOrder);
        ChannelOrder = channelOrder;
    }

    /// <summary>The mean image, [1, 3, H, W], in the model's (BGR) channel order.</summary>
    public Tensor MeanImage => _meanImage;

    /// <summary>For each model channel, the input (RGB) channel it takes: [2, 1, 0] for RGB to BGR.</summary>
    public IReadOnlyList<long> ChannelOrder { get; }

    public long Height => _meanImage.shape[2];
    public long Width => _meanImage.shape[3];

    /// <summary>The mean of each channel of the mean image, in the model's channel order (about B 103, G 116, R 123).</summary>
    public float[] ChannelMeans()
    {
        using var means = _meanImage.mean([0, 2, 3]);
        return means.data<float>().ToArray();
    }

    public static ResNetPreprocessing Load(string onnxPath)
    {
        var graph = OnnxModelFile.Read(onnxPath).Graph;
        var split = SingleNode(graph, "Split", onnxPath);
        var concat = SingleNode(graph, "Concat", onnxPath);
        var subtract = SingleNode(graph, "Sub", onnxPath);
        if (graph.Node.Count != 3)
            throw new DataFileException(onnxPath, $"expected the preprocessing graph Split, Concat, Sub; it has {graph.Node.Count} nodes");
        if (split.Int("axis", 0) != 1 || concat.Int("axis", 0) != 1 || split.Output.Count != 3 || concat.Input.Count != 3)
            throw split.Unexpected(onnxPath, "expected a 3-way split and concatenation along the channel axis (1)");
        long[] order = concat.Input.Select(name => (long)split.Output.IndexOf(name)).ToArray();
        if (order.Any(o => o < 0) || order.Distinct().Count() != 3)
            throw concat.Unexpected(onnxPath, "does not reorder exactly the three split channels");
        if (subtract.Input[0] != concat.Output[0])
            throw subtract.Unexpected(onnxPath, "does not subtract from the reordered channels");
        var mean = graph.Initializer.FirstOrDefault(t => t.Name == subtract.Input[1])
            ?? throw subtract.Unexpected(onnxPath, $"'{subtract.Input[1]}' is not an initializer");
        if (mean.Dims.Count != 4 || mean.Dims[0] != 1 || mean.Dims[1] != 3)
            throw subtract.Unexpected(onnxPath, $"mean image '{mean.Name}' has shape [{string.Join(",", mean.Dims)}], expected [1,3,H,W]");
        return new ResNetPreprocessing(mean.ToTorchTensor(onnxPath), order);
    }

    /// <summary>[N, 3, H, W] RGB 0-255 to the model's input: channels reordered, mean image subtracted.</summary>
    public Tensor Apply(Tensor rgbImages)
    {
        if (rgbImages.dim() != 4 || rgbImages.shape[1] != 3 || rgbImages.shape[2] != Height || rgbImages.shape[3] != Width)
            throw new ArgumentException($"expected images of shape [N, 3, {Height}, {Width}], got [{string.Join(", ", rgbImages.shape)}]");
        using var reordered = rgbImages.index_select(1, _channelOrder);
        return reordered.sub(_meanImage);
    }

    static NodeProto SingleNode(GraphProto graph, string opType, string path)
    {
        var nodes = graph.Node.Where(n => n.OpType == opType).ToList();
        return nodes.Count == 1 ? nodes[0] : throw new DataFileException(path, $"expected one {opType} node in the preprocessing graph, found {nodes.Count}");
    }

    public void Dispose()
    {
        _meanImage.Dispose();
        _channelOrder.Dispose();
    }
}
