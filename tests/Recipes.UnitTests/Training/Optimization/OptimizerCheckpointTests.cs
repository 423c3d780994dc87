using Recipes.Runtime.Data;
using Recipes.Runtime.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Tests.Training.Optimization;

public class OptimizerCheckpointTests
{
    static readonly OptimizerSettings Settings = new(0.1) { Momentum = 0.9 };

    static Parameter NewParameter() => new(tensor(new[] { 1.0, -2.0 }, dtype: float64));

    // Loss = sum(w^2), gradient 2w.
    static void Step(optim.Optimizer optimizer, Parameter weights)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        (weights * weights).sum().backward();
        optimizer.step();
    }

    static byte[] StateAfterOneStep(OptimizerKind kind, Parameter weights)
    {
        using var optimizer = OptimizerFactory.Create(kind, [weights], Settings);
        Step(optimizer, weights);
        using var buffer = new MemoryStream();
        OptimizerCheckpoint.Save(optimizer, buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void Loading_inside_a_dispose_scope_keeps_the_loaded_state_alive()
    {
        using var weights = NewParameter();
        byte[] saved = StateAfterOneStep(OptimizerKind.Sgd, weights);   // w = [0.8, -1.6], buffer = [2, -4]

        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, [weights], Settings);
        using (var scope = NewDisposeScope())
            OptimizerCheckpoint.Load(optimizer, new MemoryStream(saved), "epoch-1.optimizer");

        // buffer = 0.9 * [2, -4] + 2 * [0.8, -1.6] = [3.4, -6.8]; w -= 0.1 * buffer
        Step(optimizer, weights);
        double[] values = weights.data<double>().ToArray();
        Assert.Equal(0.46, values[0], 1e-12);
        Assert.Equal(-0.92, values[1], 1e-12);
    }

    [Fact]
    public void Truncated_state_is_reported_with_the_source_name()
    {
        using var weights = NewParameter();
        byte[] saved = StateAfterOneStep(OptimizerKind.Adam, weights);

        using var optimizer = OptimizerFactory.Create(OptimizerKind.Adam, [weights], Settings);
        var error = Assert.Throws<DataFileException>(
            () => OptimizerCheckpoint.Load(optimizer, new MemoryStream(saved[..(saved.Length / 2)]), "run/epoch-3.optimizer"));
        Assert.Equal("run/epoch-3.optimizer: optimizer state is truncated", error.Message);
    }

    [Fact]
    public void State_of_another_optimizer_kind_is_refused()
    {
        using var weights = NewParameter();
        byte[] saved = StateAfterOneStep(OptimizerKind.Sgd, weights);

        using var optimizer = OptimizerFactory.Create(OptimizerKind.Adam, [weights], Settings);
        var error = Assert.Throws<DataFileException>(() => OptimizerCheckpoint.Load(optimizer, new MemoryStream(saved), "sgd.optimizer"));
        Assert.StartsWith("sgd.optimizer: optimizer state does not fit this optimizer", error.Message);
        Assert.Contains("SGD", error.Message);
    }

    [Fact]
    public void State_for_a_different_number_of_parameters_is_refused()
    {
        using var weights = NewParameter();
        byte[] saved = StateAfterOneStep(OptimizerKind.RmsProp, weights);

        using var other = NewParameter();
        using var optimizer = OptimizerFactory.Create(OptimizerKind.RmsProp, [weights, other], Settings);
        var error = Assert.Throws<DataFileException>(() => OptimizerCheckpoint.Load(optimizer, new MemoryStream(saved), "rms.optimizer"));
        Assert.Contains("different number of states", error.Message);
    }
}
