using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models.Onnx;

namespace Recipes.Serving;

/// <summary>
/// One model copy in ONNX Runtime: an <see cref="InferenceSession"/> over a .onnx file, its signature read from the
/// file's inputs and outputs (FP32 and INT64 tensors). A file that fixes the batch dimension at 1 (as the ImageNet
/// ResNet-18 of <c>DnnImageModelFiles</c> does) has it made symbolic before loading, so a batch goes through in one
/// call; that assumes, as for every model we serve, that the graph works per sample.
/// <para>
/// Threads: each session gets <c>intraOpThreads</c> intra-op threads of its own and one inter-op thread (the graph runs
/// sequentially), so N copies use N x intraOpThreads threads; <see cref="InferenceOptions.IntraOpThreadsPerCopy"/> keeps
/// that at the core count. Spinning of idle intra-op threads is turned off: with several sessions on the same cores a
/// spinning pool steals time from the copy that has work (ONNX Runtime's advice for concurrent sessions).
/// </para>
/// </summary>
public sealed class OnnxRuntimeBackend : IInferenceBackend
{
    public const string PlatformName = "onnxruntime_onnx";

    readonly InferenceSession _session;
    readonly RunOptions _runOptions = new();
    readonly string[] _inputNames, _outputNames;

    /// <param name="intraOpThreads">ONNX Runtime threads per operator for this session; 0 lets it use every core</param>
    public OnnxRuntimeBackend(string onnxPath, string modelName, string version, int intraOpThreads)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        var model = OnnxModelFile.Read(onnxPath);
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        bool fixedBatchOfOne = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Any(i => i.Dimensions() is [1, ..]);
        if (fixedBatchOfOne) model.MakeBatchDimensionSymbolic();

        using var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            _session = new InferenceSession(model.ToByteArray(), options);
        }
        catch (OnnxRuntimeException error)
        {
            throw new DataFileException(onnxPath, $"ONNX Runtime cannot load it: {error.Message}", error);
        }
        try
        {
            var inputs = _session.InputMetadata.Select(m => Spec(onnxPath, m.Key, m.Value)).ToArray();
            var outputs = _session.OutputMetadata.Select(m => Spec(onnxPath, m.Key, m.Value)).ToArray();
            Signature = new ModelSignature(modelName, version, PlatformName, inputs, outputs);
            _inputNames = inputs.Select(i => i.Name).ToArray();
            _outputNames = outputs.Select(o => o.Name).ToArray();
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public ModelSignature Signature { get; }

    /// <summary>The spec of one graph input or output: -1 for the batch and for every symbolic dimension.</summary>
    static TensorSpec Spec(string path, string name, NodeMetadata metadata)
    {
        if (!metadata.IsTensor)
            throw new DataFileException(path, $"'{name}' is a {metadata.OnnxValueType}, not a tensor: only tensors can be served");
        var datatype = metadata.ElementType == typeof(float) ? TensorDatatype.FP32
            : metadata.ElementType == typeof(long) ? TensorDatatype.INT64
            : throw new DataFileException(path, $"'{name}' holds {metadata.ElementType.Name} values: only FP32 and INT64 tensors can be served");
        if (metadata.Dimensions.Length == 0)
            throw new DataFileException(path, $"'{name}' is a scalar: a served tensor needs a batch dimension");
        long[] shape = metadata.Dimensions.Select((size, d) => d == 0 || size < 0 ? -1L : size).ToArray();
        return new TensorSpec(name, datatype, shape);
    }

    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> batchInputs)
    {
        var values = new OrtValue[batchInputs.Count];
        try
        {
            for (int i = 0; i < values.Length; i++)
            {
                // Wraps (pins) the managed array: no copy on the way in.
                var input = batchInputs[i];
                values[i] = input.Floats is not null
                    ? OrtValue.CreateTensorValueFromMemory(input.Floats, input.Shape)
                    : OrtValue.CreateTensorValueFromMemory(input.Longs!, input.Shape);
            }
            using var results = _session.Run(_runOptions, _inputNames, values, _outputNames);
            var outputs = new NamedTensor[_outputNames.Length];
            for (int i = 0; i < outputs.Length; i++)
            {
                var result = results[i];
                long[] shape = result.GetTensorTypeAndShape().Shape;
                outputs[i] = Signature.Outputs[i].Datatype == TensorDatatype.FP32
                    ? new NamedTensor(_outputNames[i], shape, Floats: result.GetTensorDataAsSpan<float>().ToArray())
                    : new NamedTensor(_outputNames[i], shape, Longs: result.GetTensorDataAsSpan<long>().ToArray());
            }
            return outputs;
        }
        finally
        {
            foreach (var value in values) value?.Dispose();
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
