namespace Recipes.Serving;

/// <summary>The tensor datatypes of the Open Inference Protocol (KServe v2) that our models take and give.</summary>
public enum TensorDatatype { FP32, INT64 }

/// <summary>One input or output of a model: its name, datatype and shape, -1 where any size is accepted (the batch).</summary>
public sealed record TensorSpec(string Name, TensorDatatype Datatype, long[] Shape);

/// <summary>What a served model takes and gives: the metadata of <c>GET /v2/models/{name}</c>.</summary>
public sealed record ModelSignature(string Name, string Version, string Platform, IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs);

/// <summary>
/// A tensor as the service handles it: row-major values with their shape. FP32 tensors carry <see cref="Floats"/>,
/// INT64 tensors <see cref="Longs"/>; the first dimension is the batch.
/// </summary>
public sealed record NamedTensor(string Name, long[] Shape, float[]? Floats = null, long[]? Longs = null)
{
    public TensorDatatype Datatype => Floats is not null ? TensorDatatype.FP32 : TensorDatatype.INT64;
    public long ElementCount => Shape.Aggregate(1L, (product, size) => product * size);
}

/// <summary>
/// A loaded model that many request threads may call at once. Implementations hold one or more copies of the model
/// and may run concurrent requests together as one batch; each caller gets back only its own rows.
/// </summary>
public interface IInferenceModel : IDisposable
{
    ModelSignature Signature { get; }

    /// <summary>Requests waiting for a model copy (a Prometheus gauge).</summary>
    int QueueLength { get; }

    /// <summary>
    /// Runs one request. Its inputs carry a leading batch dimension (often 1). Throws <see cref="InvalidInputException"/>
    /// when the inputs do not match the signature and <see cref="ServiceBusyException"/> when the queue is full.
    /// </summary>
    Task<IReadOnlyList<NamedTensor>> InferAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellation = default);
}

/// <summary>The request does not fit the model (shape, datatype, name): the client's fault, a 400.</summary>
public sealed class InvalidInputException(string message) : Exception(message);

/// <summary>The queue is full: the client should retry later, a 503.</summary>
public sealed class ServiceBusyException(string message) : Exception(message);

/// <summary>What the request names does not exist (an unknown user, a stored image the index does not hold): a 404.</summary>
public sealed class NotFoundException(string message) : Exception(message);
