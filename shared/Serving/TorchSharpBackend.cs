using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Serving;

/// <summary>
/// One model copy in TorchSharp: every <see cref="Run"/> turns the request's values into tensors, calls the forward
/// function under <c>no_grad</c> inside its own dispose scope (every tensor it made is freed when it returns, so memory
/// stays flat however many requests pass) and copies the outputs back into managed arrays.
/// <para>
/// Threads: <c>torch.set_num_threads</c> in libtorch 2.10 (OpenMP build) stores a process-wide default that threads
/// pick up the first time they run a parallel operator, and sets the OpenMP and MKL thread count of the calling
/// thread only. A thread that called it keeps its own count whatever other threads set later (checked by
/// <c>TorchSharpBackendTests</c>). So with <paramref name="intraOpThreads"/> above 0 the backend calls it on the
/// thread that runs it, before its first forward there: each copy of an <see cref="InferenceModel"/> lives on its own
/// thread and gets its own share of the cores (<see cref="InferenceOptions.IntraOpThreadsPerCopy"/>). 0 leaves the
/// count as it is.
/// </para>
/// </summary>
public sealed class TorchSharpBackend : IInferenceBackend
{
    readonly Func<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>> _forward;
    readonly IDisposable? _owner;
    readonly int _intraOpThreads;
    int _threadsSetOnThread = -1;

    /// <param name="forward">the model: input tensors in the signature's order to output tensors in its order</param>
    /// <param name="owner">disposed with the backend (the module); a TorchSharp module is put in eval mode</param>
    /// <param name="intraOpThreads">libtorch threads for the forwards of this copy; 0 keeps the current setting</param>
    public TorchSharpBackend(ModelSignature signature, Func<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>> forward, IDisposable? owner = null, int intraOpThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        Signature = signature;
        _forward = forward;
        _owner = owner;
        _intraOpThreads = intraOpThreads;
        if (owner is nn.Module module) module.eval();
    }

    /// <summary>A module with one input and one output, in eval mode, owned (disposed) by the backend.</summary>
    public static TorchSharpBackend ForModule(ModelSignature signature, nn.Module<Tensor, Tensor> module, int intraOpThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (signature.Inputs.Count != 1 || signature.Outputs.Count != 1)
            throw new ArgumentException($"a single-tensor module needs a signature with one input and one output; '{signature.Name}' has {signature.Inputs.Count} and {signature.Outputs.Count}");
        return new TorchSharpBackend(signature, inputs => [module.forward(inputs[0])], module, intraOpThreads);
    }

    public ModelSignature Signature { get; }

    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> batchInputs)
    {
        ApplyThreadCount();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var inputs = batchInputs.Select(ToTensor).ToList();
        var outputs = _forward(inputs);
        if (outputs is null || outputs.Count != Signature.Outputs.Count)
            throw new InvalidOperationException($"model '{Signature.Name}' returned {outputs?.Count ?? 0} tensors; its signature declares {Signature.Outputs.Count} outputs");
        return outputs.Select((output, i) => ToNamedTensor(Signature.Outputs[i], output)).ToArray();
    }

    void ApplyThreadCount()
    {
        if (_intraOpThreads == 0 || _threadsSetOnThread == Environment.CurrentManagedThreadId) return;
        torch.set_num_threads(_intraOpThreads);
        _threadsSetOnThread = Environment.CurrentManagedThreadId;
    }

    static Tensor ToTensor(NamedTensor input) => input.Floats is not null
        ? torch.tensor(input.Floats, input.Shape)
        : torch.tensor(input.Longs!, input.Shape);

    static NamedTensor ToNamedTensor(TensorSpec spec, Tensor output)
    {
        using var values = output.detach().cpu().to_type(spec.Datatype == TensorDatatype.FP32 ? ScalarType.Float32 : ScalarType.Int64).contiguous();
        long[] shape = values.shape;
        return spec.Datatype == TensorDatatype.FP32
            ? new NamedTensor(spec.Name, shape, Floats: values.data<float>().ToArray())
            : new NamedTensor(spec.Name, shape, Longs: values.data<long>().ToArray());
    }

    public void Dispose() => _owner?.Dispose();
}
