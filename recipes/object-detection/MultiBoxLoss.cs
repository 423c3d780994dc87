using static TorchSharp.torch;

namespace Recipes.ObjectDetection;

/// <summary>
/// SSD's training objective (Liu et al. 2016, eq. 1): for default boxes matched to an object, a smooth L1 loss on
/// the four offsets plus the cross-entropy of the right class; for the rest, the cross-entropy of "background",
/// but only for the hardest of them: most of the ~8,700 default boxes are easy background, and counting them all
/// would drown the few positives. Hard negative mining keeps, per image, the negatives with the highest
/// classification loss, three for every positive. The sum is divided by the number of positives.
/// <para>With several replicas each divides by the positives of its share of the batch, as PyTorch's distributed
/// detection references do; the gradient then differs slightly from one replica's over the whole batch.</para>
/// </summary>
public static class MultiBoxLoss
{
    public const int NegativesPerPositive = 3;

    /// <param name="defaultBoxes">How many of the target rows are default boxes (the rest are objects, see <see cref="SsdTargets"/>).</param>
    public static Func<Tensor, Tensor, Tensor> Create(int defaultBoxes) => (output, target) => Compute(output, target, defaultBoxes).Total;

    /// <summary>The loss and its two parts (each already divided by the positives), for reports.</summary>
    public static (Tensor Total, Tensor Localisation, Tensor Classification) Compute(Tensor output, Tensor target, int defaultBoxes)
    {
        using var scope = NewDisposeScope();
        long n = output.shape[0], priors = output.shape[1];
        if (priors != defaultBoxes) throw new ArgumentException($"the network predicts for {priors} default boxes, the targets have {defaultBoxes}");
        var predictedOffsets = output[.., .., ..4];
        var scores = output[.., .., 4..];
        var boxRows = target[.., ..defaultBoxes, ..];
        var targetOffsets = boxRows[.., .., ..4];
        var labels = boxRows[.., .., 4].to_type(ScalarType.Int64);
        var positive = labels > 0;
        var ignored = labels < 0; // default boxes on difficult objects (SsdTargets.Ignored): neither positive nor negative
        labels = labels.clamp_min(0);
        var positivesPerImage = positive.sum(1);

        var localisation = nn.functional.smooth_l1_loss(predictedOffsets[positive], targetOffsets[positive], reduction: nn.Reduction.Sum);

        var classLoss = nn.functional.cross_entropy(scores.reshape(-1, scores.shape[2]), labels.reshape(-1), reduction: nn.Reduction.None).view(n, priors);
        Tensor keptNegative;
        using (no_grad())
        {
            // Rank each image's negatives by their loss (positives sink to the bottom) and keep the top 3 x positives.
            var negativeLoss = classLoss.masked_fill(positive.logical_or(ignored), float.NegativeInfinity);
            var order = negativeLoss.argsort(1, descending: true);
            var rank = order.argsort(1);
            var wanted = (positivesPerImage * NegativesPerPositive).clamp_max(priors - 1).unsqueeze(1);
            keptNegative = (rank < wanted) & positive.logical_not() & ignored.logical_not();
        }
        var classification = classLoss[positive.logical_or(keptNegative)].sum();

        var count = positivesPerImage.sum().clamp_min(1).to_type(output.dtype);
        var total = (localisation + classification) / count;
        return (total.MoveToOuterDisposeScope(), (localisation / count).MoveToOuterDisposeScope(), (classification / count).MoveToOuterDisposeScope());
    }
}
