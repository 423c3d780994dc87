namespace Recipes.Serving;

/// <summary>
/// One copy of a model on one inference engine (TorchSharp, ONNX Runtime). <see cref="InferenceModel"/> calls
/// <see cref="Run"/> from the copy's own thread, one call at a time, so a backend need not be thread-safe. The inputs
/// come in the order of <see cref="ModelSignature.Inputs"/>, already checked against it, every one with the same
/// leading batch dimension; the outputs must come in the order of <see cref="ModelSignature.Outputs"/> with that same
/// batch dimension first.
/// </summary>
public interface IInferenceBackend : IDisposable
{
    ModelSignature Signature { get; }

    IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> batchInputs);
}
