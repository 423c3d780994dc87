using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Serving;

/// <summary>
/// One model copy in TorchSharp: every <see cref="Run"/> turns the request's values into tensors, calls the forward
/// function under <c>no_grad</c> inside its own dispose scope (every tensor it made is freed when it returns, so memory
/// stays flat however many requests pass) and copies the outputs back into managed arrays.
/// <para>
/// Threads: libtorch 2.10 (OpenMP build) keeps its intra-op thread count per thread. <c>torch.set_num_threads</c>
/// sets the calling thread's OpenMP and MKL count and also a process-wide default; each thread, the first time it
/// asks for its count or runs a parallel operator, sets its own count from that default, once. So a copy that
/// called set_num_threads before its first forward could still be overwritten by the default another copy stored
/// in between (seen here: both copies ended with the last one's count). With <c>intraOpThreads</c>
/// above 0 the backend therefore first lets its thread take the default (<c>torch.get_num_threads</c>) and then sets
/// its own count, before its first forward on that thread; from then on other threads' settings do not reach it
/// (checked by <c>TorchSharpBackendTests</c>). Each copy of an <see cref="InferenceModel"/> lives on its own thread,
/// so each gets its own share of the cores (<see cref="InferenceOptions.IntraOpThreadsPerCopy"/>). The process-wide
/// default is left at the last copy's value, which threads that never set one (request threads that preprocess with
/// TorchSharp) inherit. 0 leaves the count as it is.
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
        // Let this thread take libtorch's process-wide default now, so that its one-time initialisation cannot later
        // replace the count set next with whatever another copy stored as the default in between.
        _ = torch.get_num_threads();
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
