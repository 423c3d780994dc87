namespace Recipes.Runtime.Models.ImageNet;

/// <summary>Features from a TorchSharp network in evaluation mode, without gradients, in bounded batches.</summary>
public sealed class TorchFeatureExtractor : IImageFeatureExtractor
{
    readonly nn.Module<Tensor, Tensor> _network;
    readonly bool _ownsNetwork;

    public TorchFeatureExtractor(nn.Module<Tensor, Tensor> network, int featureLength, int batchSize = 32, bool ownsNetwork = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _network = network;
        _ownsNetwork = ownsNetwork;
        FeatureLength = featureLength;
        BatchSize = batchSize;
    }

    public int FeatureLength { get; }
    public int BatchSize { get; }
    public string Description => $"TorchSharp, {_network.GetName()}";

    public Tensor Extract(Tensor preprocessedImages)
    {
        _network.eval();
        using var noGrad = no_grad();
        long count = preprocessedImages.shape[0];
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < count; start += BatchSize)
            {
                using var batch = preprocessedImages.narrow(0, start, Math.Min(BatchSize, count - start));
                parts.Add(_network.forward(batch).reshape(-1, FeatureLength));
            }
            return parts.Count == 1 ? parts[0].alias() : torch.cat(parts, 0);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    public void Dispose()
    {
        if (_ownsNetwork) _network.Dispose();
    }
}
