using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.Mnist;

/// <summary>
/// Greyscale pixels scaled to [0, 1] and standardised: (p/255 - mean) / std. Fitted on the training set
/// only (MNIST gives the well-known 0.1307 and 0.3081), then applied unchanged to test and new images.
/// </summary>
public sealed record PixelNormalisation(double Mean, double Std)
{
    public static PixelNormalisation Fit(LabeledImages images)
    {
        if (images.Count == 0) throw new ArgumentException("cannot fit a normalisation on no images");
        // Sums of bytes fit a long exactly; doubles would lose the last digits over 47 million pixels.
        long sum = 0, sumOfSquares = 0;
        foreach (byte pixel in images.Pixels)
        {
            sum += pixel;
            sumOfSquares += pixel * pixel;
        }
        double n = images.Pixels.Length;
        double mean = sum / n / 255.0;
        double variance = sumOfSquares / n / (255.0 * 255.0) - mean * mean;
        return new PixelNormalisation(mean, Math.Sqrt(Math.Max(variance, 1e-12)));
    }

    /// <summary>The normalised images as an N x 1 x H x W float tensor with int64 labels.</summary>
    public InMemoryBatchSource ToBatchSource(LabeledImages images)
    {
        using var scope = NewDisposeScope();
        var pixels = tensor(images.Pixels, [images.Count, 1, images.Height, images.Width]);
        var inputs = pixels.to(ScalarType.Float32).div_(255.0).sub_(Mean).div_(Std);
        var labels = tensor(images.Labels, [images.Count]).to(ScalarType.Int64);
        return new InMemoryBatchSource(inputs.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }
}
