namespace Recipes.Runtime.Training;

/// <summary>Inference over a data set in bounded batches, without gradients.</summary>
public static class Prediction
{
    /// <summary>The highest-scoring class of every sample, in order.</summary>
    public static int[] PredictClasses(nn.Module<Tensor, Tensor> model, IBatchSource data, int batchSize = 1000)
    {
        var classes = new int[data.Count];
        ForEachBatch(model, data, batchSize, (start, count, output) =>
        {
            long[] best = output.argmax(1).data<long>().ToArray();
            for (int i = 0; i < count; i++) classes[start + i] = (int)best[i];
        });
        return classes;
    }

    /// <summary>The first output of every sample, in order: the forecasts of a one-value regression model.</summary>
    public static float[] PredictValues(nn.Module<Tensor, Tensor> model, IBatchSource data, int batchSize = 1000)
    {
        var values = new float[data.Count];
        ForEachBatch(model, data, batchSize, (start, count, output) =>
            output.reshape(count, -1).select(1, 0).to_type(ScalarType.Float32).data<float>().CopyTo(values, start));
        return values;
    }

    /// <summary>Runs the model in evaluation mode over consecutive batches; each batch's tensors are freed
    /// as soon as <paramref name="useOutput"/>(first sample, sample count, output) returns.</summary>
    static void ForEachBatch(nn.Module<Tensor, Tensor> model, IBatchSource data, int batchSize, Action<int, int, Tensor> useOutput)
    {
        model.eval();
        using var noGrad = no_grad();
        int[] indices = new int[batchSize];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int count = Math.Min(batchSize, data.Count - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            var (input, _) = data.GetBatch(indices.AsSpan(0, count));
            useOutput(start, count, model.forward(input));
        }
    }
}
