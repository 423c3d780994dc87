namespace Recipes.Runtime.Training;

/// <summary>
/// Another batch source's batches with a tensor function applied to the inputs (targets unchanged): a
/// preprocessing stage that works on whole batches, or a frozen network whose outputs a head trains on.
/// </summary>
public sealed class TransformedBatchSource(IBatchSource inner, Func<Tensor, Tensor> transformInputs) : IBatchSource
{
    public int Count => inner.Count;

    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        var (input, target) = inner.GetBatch(indices);
        using (input) return (transformInputs(input), target);
    }

    /// <summary>
    /// Every sample of <paramref name="source"/> read once, in order, into memory: for inputs that are
    /// expensive to compute and do not change between epochs (frozen features), small enough to keep.
    /// </summary>
    public static InMemoryBatchSource Materialise(IBatchSource source, int batchSize = 64)
    {
        var inputs = new List<Tensor>();
        var targets = new List<Tensor>();
        try
        {
            int[] indices = new int[batchSize];
            for (int start = 0; start < source.Count; start += batchSize)
            {
                int count = Math.Min(batchSize, source.Count - start);
                for (int i = 0; i < count; i++) indices[i] = start + i;
                var (input, target) = source.GetBatch(indices.AsSpan(0, count));
                inputs.Add(input);
                targets.Add(target);
            }
            return new InMemoryBatchSource(torch.cat(inputs, 0), torch.cat(targets, 0));
        }
        finally
        {
            foreach (var tensor in inputs.Concat(targets)) tensor.Dispose();
        }
    }
}
