namespace Recipes.Runtime.Training;

/// <summary>
/// A data set the trainer can draw mini-batches from by sample index. <see cref="GetBatch"/> is called
/// concurrently by the model replicas, each with its own share of the global batch, so it must be
/// thread-safe; the tensors it returns belong to the caller's dispose scope.
/// </summary>
public interface IBatchSource
{
    int Count { get; }
    (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices);
}

/// <summary>Inputs and targets held as two tensors whose first dimension is the sample.</summary>
public sealed class InMemoryBatchSource : IBatchSource, IDisposable
{
    readonly Tensor _inputs;
    readonly Tensor _targets;

    /// <summary>Takes ownership of both tensors.</summary>
    public InMemoryBatchSource(Tensor inputs, Tensor targets)
    {
        if (inputs.shape[0] != targets.shape[0])
            throw new ArgumentException($"inputs have {inputs.shape[0]} samples but targets {targets.shape[0]}");
        _inputs = inputs.DetachFromDisposeScope();
        _targets = targets.DetachFromDisposeScope();
    }

    public int Count => checked((int)_inputs.shape[0]);

    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        long[] positions = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++) positions[i] = indices[i];
        using var index = tensor(positions, ScalarType.Int64);
        return (_inputs.index_select(0, index), _targets.index_select(0, index));
    }

    public void Dispose()
    {
        _inputs.Dispose();
        _targets.Dispose();
    }
}
