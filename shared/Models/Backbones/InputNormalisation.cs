using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Runtime.Models.Backbones;

/// <summary>
/// The pixel normalisation a backbone was trained with, as part of the network (so a saved model carries it):
/// the channels put in the backbone's order, then (pixels - mean) x scale, with mean and scale broadcast over
/// [N, 3, H, W] (per channel, or a whole mean image).
/// </summary>
public sealed class InputNormalisation : nn.Module<Tensor, Tensor>
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
}
