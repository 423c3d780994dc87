namespace Recipes.Runtime.Models.ImageNet;

/// <summary>
/// Turns preprocessed images [N, 3, H, W] into feature vectors [N, <see cref="FeatureLength"/>] without
/// training. Two implementations share it so a recipe can switch between them: ONNX Runtime on the
/// original model (fast frozen inference) and the imported TorchSharp network (the one that fine-tunes).
/// </summary>
public interface IImageFeatureExtractor : IDisposable
{
    int FeatureLength { get; }

    /// <summary>What computes the features, for logs and reports.</summary>
    string Description { get; }

    Tensor Extract(Tensor preprocessedImages);
}
