namespace Recipes.Runtime.Models.Backbones;

/// <summary>
/// The pixel normalisation a backbone was trained with, as part of the network (so a saved model carries it):
/// the channels put in the backbone's order, then (pixels - mean) x scale, with mean and scale broadcast over
/// [N, 3, H, W] (per channel, or a whole mean image).
/// </summary>
public sealed class InputNormalisation : nn.Module<Tensor, Tensor>, Onnx.IOnnxExportable
{
    readonly Tensor channel_order;
    readonly Tensor mean;
    readonly Tensor scale;

    public InputNormalisation(long[] channelOrder, Tensor mean, Tensor scale) : base(nameof(InputNormalisation))
    {
        channel_order = tensor(channelOrder).DetachFromDisposeScope();
        this.mean = mean.DetachFromDisposeScope();
        this.scale = scale.DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>torchvision's ImageNet normalisation of 0..255 RGB pixels: (x / 255 - mean) / std per channel.</summary>
    public static InputNormalisation TorchvisionImageNet() => new([0, 1, 2],
        tensor(new float[] { 0.485f * 255, 0.456f * 255, 0.406f * 255 }).view(1, 3, 1, 1),
        tensor(new float[] { 1 / (0.229f * 255), 1 / (0.224f * 255), 1 / (0.225f * 255) }).view(1, 3, 1, 1));

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return ((input.index_select(1, channel_order) - mean) * scale).MoveToOuterDisposeScope();
    }

    /// <summary>Gather (channel order), Sub (mean), Mul (scale): the same three steps, broadcast the same way.
    /// A whole mean image fixes the input's height and width to its own.</summary>
    public string WriteOnnx(Onnx.OnnxGraphBuilder graph, string input, string name)
    {
        using var order = channel_order.to(ScalarType.Int64);
        string reordered = graph.Gather(input, order.data<long>().ToArray(), axis: 1);
        string centred = graph.Sub(reordered, graph.Initializer($"{name}.mean", mean));
        return graph.Mul(centred, graph.Initializer($"{name}.scale", scale));
    }

    /// <summary>The input height and width this normalisation fixes (a mean image's), or null when it broadcasts over any size.</summary>
    public (long Height, long Width)? FixedImageSize => mean.dim() == 4 && mean.shape[2] > 1 ? (mean.shape[2], mean.shape[3]) : null;
}
