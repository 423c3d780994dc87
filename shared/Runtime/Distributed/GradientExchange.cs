using TorchSharp.Modules;

namespace Recipes.Runtime.Distributed;

/// <summary>
/// Sums a model's gradients (and one extra number, the step's weighted loss) across an <see cref="IProcessGroup"/>
/// through one flat float32 buffer allocated once: the gradients are copied in, summed over the processes,
/// and copied back. Each process has already scaled its gradients by its share of the global batch, so the
/// sum is the gradient of the whole batch.
/// </summary>
public sealed class GradientExchange : IDisposable
{
    readonly IReadOnlyList<Parameter> _parameters;
    readonly float[] _flat;
    readonly Tensor _flatTensor;
    readonly long[] _offsets;

    public GradientExchange(IReadOnlyList<Parameter> parameters)
    {
        _parameters = parameters;
        _offsets = new long[parameters.Count + 1];
        for (int p = 0; p < parameters.Count; p++) _offsets[p + 1] = _offsets[p] + parameters[p].numel();
        _flat = new float[_offsets[^1] + 1];
        // from_array shares the managed array's memory: tensor copies land where the ring reads.
        _flatTensor = torch.from_array(_flat).DetachFromDisposeScope();
    }

    /// <summary>Sums every parameter's gradient and <paramref name="loss"/> over the group; returns the summed loss.</summary>
    public double SumAcrossProcesses(IProcessGroup group, double loss)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        for (int p = 0; p < _parameters.Count; p++)
        {
            var slice = _flatTensor.narrow(0, _offsets[p], _offsets[p + 1] - _offsets[p]);
            var gradient = _parameters[p].grad;
            if (gradient is null) slice.zero_();
            else slice.copy_(gradient.reshape(-1));
        }
        _flat[^1] = (float)loss;
        group.SumInPlace(_flat);
        for (int p = 0; p < _parameters.Count; p++)
        {
            var gradient = _parameters[p].grad;
            if (gradient is null) continue;
            gradient.copy_(_flatTensor.narrow(0, _offsets[p], _offsets[p + 1] - _offsets[p]).view_as(gradient));
        }
        return _flat[^1];
    }

    public void Dispose() => _flatTensor.Dispose();
}
