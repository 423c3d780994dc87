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
