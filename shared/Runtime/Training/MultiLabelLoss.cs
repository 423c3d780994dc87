namespace Recipes.Runtime.Training;

/// <summary>
/// The loss of a multi-label classifier: one independent yes/no per class (a sigmoid each, not a softmax over
/// classes), as for the findings of a chest X-ray where an image may show several or none.
/// </summary>
public static class MultiLabelLoss
{
    /// <summary>
    /// Mean binary cross-entropy over every sample and class, on logits (the sigmoid is inside the loss, computed
    /// the numerically stable way of torch's binary_cross_entropy_with_logits, so large logits give finite losses
    /// and gradients). With <paramref name="positiveWeights"/> the positive term of class c is multiplied by
    /// positiveWeights[c] (torch's pos_weight): -[w t log s(x) + (1 - t) log(1 - s(x))].
    /// As a <see cref="Trainer"/> loss: output logits [N, C], target 0/1 [N, C] as floats.
    /// </summary>
    /// <exception cref="ArgumentException">A weight is negative or not finite.</exception>
    public static Func<Tensor, Tensor, Tensor> BinaryCrossEntropyWithLogits(float[]? positiveWeights = null)
    {
        float[]? weights = positiveWeights?.ToArray(); // the caller may reuse its array
        if (weights is not null)
        {
            if (weights.Length == 0) throw new ArgumentException("no positive weights: give one per class, or null", nameof(positiveWeights));
            for (int c = 0; c < weights.Length; c++)
                if (!float.IsFinite(weights[c]) || weights[c] < 0)
                    throw new ArgumentException($"positive weight {c} is {weights[c]}: weights must be finite and not negative", nameof(positiveWeights));
        }

        return (logits, target) =>
        {
            if (logits.dim() != 2 || !logits.shape.SequenceEqual(target.shape))
                throw new ArgumentException($"binary cross-entropy needs logits [samples, classes] and a target of the same shape; got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", target.shape)}]");
            if (weights is not null && logits.shape[1] != weights.Length)
                throw new ArgumentException($"{logits.shape[1]} classes but {weights.Length} positive weights");

            // Temporaries are disposed here; the returned loss belongs to the caller's dispose scope.
            using var matchedTarget = target.dtype == logits.dtype && target.device == logits.device
                ? target.alias() : target.to(logits.dtype, logits.device);
            using var weightTensor = weights is null ? null : tensor(weights, dtype: logits.dtype, device: logits.device);
            return nn.functional.binary_cross_entropy_with_logits(logits, matchedTarget, pos_weights: weightTensor);
        };
    }

    /// <summary>
    /// Negatives / positives per class from row-major 0/1 labels [samples, classes] (at or above 0.5 is positive):
    /// the usual pos_weight for rare findings, which makes a class's positives weigh as much in total as its
    /// negatives. A class with no positive, or no negative, gets 1: its ratio is undefined (or 0, which would
    /// silence the class), so it is left unweighted.
    /// </summary>
    /// <exception cref="ArgumentException">The labels do not split into rows of <paramref name="classes"/>, or one is NaN.</exception>
    public static float[] PositiveWeights(ReadOnlySpan<float> labels, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        if (labels.Length % classes != 0)
            throw new ArgumentException($"{labels.Length} labels do not split into rows of {classes} classes", nameof(labels));
        int samples = labels.Length / classes;
        var positives = new long[classes];
        for (int s = 0; s < samples; s++)
            for (int c = 0; c < classes; c++)
            {
                float label = labels[s * classes + c];
                if (float.IsNaN(label)) throw new ArgumentException($"the label of sample {s}, class {c} is NaN", nameof(labels));
                if (label >= 0.5f) positives[c]++;
            }
        var weights = new float[classes];
        for (int c = 0; c < classes; c++)
        {
            long negatives = samples - positives[c];
            weights[c] = positives[c] == 0 || negatives == 0 ? 1f : (float)((double)negatives / positives[c]);
        }
        return weights;
    }
}
