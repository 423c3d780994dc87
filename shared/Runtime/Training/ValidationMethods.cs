namespace Recipes.Runtime.Training;

/// <summary>
/// A metric computed over a data set in batches (BigDL's ValidationMethod). Each batch contributes a sum
/// and a count, so partial results from different replicas or workers add up exactly.
/// </summary>
public interface IValidationMethod
{
    /// <summary>Name used in logs, metrics.json and summaries, e.g. "accuracy" or "loss".</summary>
    string Name { get; }

    /// <summary>True when a larger value is better (accuracy), false when smaller is (loss).</summary>
    bool HigherIsBetter { get; }

    (double Sum, long Count) Measure(Tensor output, Tensor target);
}

/// <summary>Fraction of samples whose highest-scoring class is the target class.</summary>
public sealed class Top1Accuracy : IValidationMethod
{
    public string Name => "accuracy";
    public bool HigherIsBetter => true;

    public (double Sum, long Count) Measure(Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        long correct = output.argmax(1).eq(target).sum().item<long>();
        return (correct, target.shape[0]);
    }
}

/// <summary>The training loss function averaged over samples.</summary>
public sealed class LossValidation(Func<Tensor, Tensor, Tensor> meanLoss) : IValidationMethod
{
    public string Name => "loss";
    public bool HigherIsBetter => false;

    public (double Sum, long Count) Measure(Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        long count = target.shape[0];
        return (meanLoss(output, target).ToDouble() * count, count);
    }
}

/// <summary>
/// A validation metric that needs every sample's output at once, such as AUC-ROC, which ranks all the scores
/// of a set: it cannot be summed batch by batch like an <see cref="IValidationMethod"/>. Each batch records a
/// few values per sample (scores, labels) into that sample's row; once every row of the set is filled, the
/// method scores them. Rows are filled by position, so replicas and processes can fill disjoint parts and the
/// parts add up to the whole set (each row is written by exactly one of them, the others leave zeros).
/// </summary>
public interface ISetValidationMethod
{
    /// <summary>Values kept per sample.</summary>
    int ValuesPerSample { get; }

    /// <summary>True when larger scores are better (every score this method reports).</summary>
    bool HigherIsBetter { get; }

    /// <summary>Writes the values of each sample of a batch: <paramref name="rows"/> is [batch size, <see cref="ValuesPerSample"/>].</summary>
    void Record(Tensor output, Tensor target, Span<double> rows);

    /// <summary>The scores of the whole set from all its rows, [sample count, <see cref="ValuesPerSample"/>] in sample order.
    /// The names must not collide with other validation methods' names.</summary>
    IReadOnlyDictionary<string, double> Score(ReadOnlySpan<double> rows, int sampleCount);
}
