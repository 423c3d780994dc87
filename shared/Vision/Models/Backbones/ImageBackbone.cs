namespace Recipes.Runtime.Models.Backbones;

/// <summary>
/// A convolutional feature extractor: [N, 3, H, W] to [N, <paramref name="Channels"/>, H/32, W/32], the last feature
/// map before pooling, so that class activation maps can be computed from it. Its parameter and buffer names are
/// torchvision's, so ImageNet weights converted to TorchSharp's format load with
/// <see cref="ImageNetBackbones.LoadWeights"/>.
/// </summary>
public sealed record ImageBackbone(nn.Module<Tensor, Tensor> Features, int Channels, string Description);
