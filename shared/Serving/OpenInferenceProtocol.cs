using System.Text.Json;

namespace Recipes.Serving;

/// <summary>An inference request of the Open Inference Protocol, checked against the model's signature.</summary>
public sealed record InferenceRequest(string? Id, IReadOnlyList<NamedTensor> Inputs, IReadOnlyList<string>? RequestedOutputs);

/// <summary>
/// The JSON of the Open Inference Protocol (KServe v2, as KServe and Triton speak it over HTTP/REST): server and
/// model metadata, and the inference request and response with tensors as <c>{"name", "shape", "datatype", "data"}</c>.
/// Request data may be flat or nested in row-major order (the protocol allows both); responses carry it flat.
/// Everything a client can get wrong becomes an <see cref="InvalidInputException"/> naming the problem.
/// </summary>
public static class OpenInferenceProtocol
{
    /// <summary>Inputs of more elements than this are refused before any array is made (the body limit bounds them too).</summary>
    public const long MaxElements = 64L * 1024 * 1024;

    public static void WriteServerMetadata(Utf8JsonWriter json, string serverName, string version)
    {
        json.WriteStartObject();
        json.WriteString("name", serverName);
        json.WriteString("version", version);
        json.WriteStartArray("extensions");
        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static void WriteModelMetadata(Utf8JsonWriter json, ModelSignature signature)
    {
        json.WriteStartObject();
        json.WriteString("name", signature.Name);
        json.WriteStartArray("versions");
        json.WriteStringValue(signature.Version);
        json.WriteEndArray();
        json.WriteString("platform", signature.Platform);
        WriteSpecs(json, "inputs", signature.Inputs);
        WriteSpecs(json, "outputs", signature.Outputs);
        json.WriteEndObject();
    }

    static void WriteSpecs(Utf8JsonWriter json, string property, IReadOnlyList<TensorSpec> specs)
    {
        json.WriteStartArray(property);
        foreach (var spec in specs)
        {
            json.WriteStartObject();
            json.WriteString("name", spec.Name);
            json.WriteString("datatype", spec.Datatype.ToString());
            WriteShape(json, spec.Shape);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WriteShape(Utf8JsonWriter json, long[] shape)
    {
        json.WriteStartArray("shape");
        foreach (long size in shape) json.WriteNumberValue(size);
        json.WriteEndArray();
    }

    /// <summary>
    /// Reads an inference request and checks it against <paramref name="signature"/>: every input named once, of
    /// the declared datatype and rank, every fixed dimension as declared, as many values as the shape says.
    /// </summary>
    public static InferenceRequest ReadRequest(ReadOnlySpan<byte> body, ModelSignature signature)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException error)
        {
            throw new InvalidInputException($"malformed JSON: {FirstLine(error.Message)}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidInputException("the request must be a JSON object with \"inputs\"");
            string? id = root.TryGetProperty("id", out var idElement)
                ? idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : throw new InvalidInputException("\"id\" must be a string")
                : null;
            if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array || inputsElement.GetArrayLength() == 0)
                throw new InvalidInputException("\"inputs\" must be a non-empty array of tensors");

            var inputs = new List<NamedTensor>();
            foreach (var element in inputsElement.EnumerateArray())
            {
                var tensor = ReadTensor(element, signature);
                if (inputs.Any(input => input.Name == tensor.Name)) throw new InvalidInputException($"input '{tensor.Name}' is given twice");
                inputs.Add(tensor);
            }
            foreach (var spec in signature.Inputs)
                if (!inputs.Any(input => input.Name == spec.Name)) throw new InvalidInputException($"input '{spec.Name}' is missing");
            long batch = inputs[0].Shape[0];
            if (inputs.Any(input => input.Shape[0] != batch)) throw new InvalidInputException("the inputs' first (batch) dimensions differ");

            List<string>? requested = null;
            if (root.TryGetProperty("outputs", out var outputsElement))
            {
                if (outputsElement.ValueKind != JsonValueKind.Array) throw new InvalidInputException("\"outputs\" must be an array of {\"name\": ...}");
                requested = [];
                foreach (var output in outputsElement.EnumerateArray())
                {
                    string name = output.ValueKind == JsonValueKind.Object && output.TryGetProperty("name", out var nameElement) && nameElement.ValueKind == JsonValueKind.String
                        ? nameElement.GetString()!
                        : throw new InvalidInputException("each requested output must be an object with a string \"name\"");
                    if (!signature.Outputs.Any(spec => spec.Name == name))
                        throw new InvalidInputException($"unknown output '{name}' (the model gives {string.Join(", ", signature.Outputs.Select(o => o.Name))})");
                    requested.Add(name);
                }
            }
            return new InferenceRequest(id, inputs, requested);
        }
    }

    static NamedTensor ReadTensor(JsonElement element, ModelSignature signature)
    {
        if (element.ValueKind != JsonValueKind.Object) throw new InvalidInputException("each input must be an object with name, shape, datatype and data");
        string name = RequiredString(element, "name", "an input");
        var spec = signature.Inputs.FirstOrDefault(input => input.Name == name)
                   ?? throw new InvalidInputException($"unknown input '{name}' (the model takes {string.Join(", ", signature.Inputs.Select(i => i.Name))})");
        string datatype = RequiredString(element, "datatype", $"input '{name}'");
        if (datatype != spec.Datatype.ToString())
            throw new InvalidInputException($"input '{name}' is {datatype}; the model takes {spec.Datatype}");

        if (!element.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new InvalidInputException($"input '{name}' needs a \"shape\" array");
        var shape = new long[shapeElement.GetArrayLength()];
        int axis = 0;
        foreach (var size in shapeElement.EnumerateArray())
        {
            if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out shape[axis]) || shape[axis] < 0)
                throw new InvalidInputException($"input '{name}': shape entries must be non-negative integers");
            axis++;
        }
        if (shape.Length != spec.Shape.Length || shape.Where((size, i) => spec.Shape[i] >= 0 && spec.Shape[i] != size).Any())
            throw new InvalidInputException($"input '{name}' has shape [{string.Join(", ", shape)}]; the model takes [{string.Join(", ", spec.Shape)}] (-1: any size)");
        if (shape[0] < 1) throw new InvalidInputException($"input '{name}': the batch dimension must be at least 1");
        long count = 1;
        foreach (long size in shape)
        {
            count *= size;
            if (count > MaxElements) throw new InvalidInputException($"input '{name}' has more than {MaxElements:N0} elements");
        }

        if (!element.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            throw new InvalidInputException($"input '{name}' needs a \"data\" array (flat or nested, row-major)");
        var reader = new DataReader(name, spec.Datatype, count);
        reader.Read(data, depth: 0);
        if (reader.Count != count)
            throw new InvalidInputException($"input '{name}' has {reader.Count} values; its shape [{string.Join(", ", shape)}] needs {count}");
        return spec.Datatype == TensorDatatype.FP32 ? new NamedTensor(name, shape, Floats: reader.Floats) : new NamedTensor(name, shape, Longs: reader.Longs);
    }

    /// <summary>Flattens flat or nested data arrays into one row-major buffer of the declared type.</summary>
    sealed class DataReader(string name, TensorDatatype datatype, long expected)
    {
        public float[]? Floats { get; } = datatype == TensorDatatype.FP32 ? new float[expected] : null;
        public long[]? Longs { get; } = datatype == TensorDatatype.INT64 ? new long[expected] : null;
        public long Count { get; private set; }

        public void Read(JsonElement array, int depth)
        {
            foreach (var value in array.EnumerateArray())
            {
                if (value.ValueKind == JsonValueKind.Array)
                {
                    Read(value, depth + 1);
                    continue;
                }
                if (value.ValueKind != JsonValueKind.Number)
                    throw new InvalidInputException($"input '{name}': data must hold numbers, not {value.ValueKind.ToString().ToLowerInvariant()}");
                if (Count >= expected)
                {
                    Count++; // counted, not stored: the error below reports too many values
                    continue;
                }
                if (Floats is not null)
                {
                    double number = value.GetDouble();
                    if (!double.IsFinite(number) || Math.Abs(number) > float.MaxValue)
                        throw new InvalidInputException($"input '{name}': {value.GetRawText()} is not a finite FP32 value");
                    Floats[Count] = (float)number;
                }
                else if (value.TryGetInt64(out long integer))
                {
                    Longs![Count] = integer;
                }
                else
                {
                    throw new InvalidInputException($"input '{name}' is INT64: {value.GetRawText()} is not an integer");
                }
                Count++;
            }
        }
    }

    /// <summary>Writes the inference response: the model's name and version, the request's id, and flat output data.</summary>
    public static void WriteResponse(Utf8JsonWriter json, ModelSignature signature, InferenceRequest request, IReadOnlyList<NamedTensor> outputs)
    {
        json.WriteStartObject();
        json.WriteString("model_name", signature.Name);
        json.WriteString("model_version", signature.Version);
        if (request.Id is not null) json.WriteString("id", request.Id);
        json.WriteStartArray("outputs");
        foreach (var output in outputs)
        {
            if (request.RequestedOutputs is { } requested && !requested.Contains(output.Name)) continue;
            json.WriteStartObject();
            json.WriteString("name", output.Name);
            json.WriteString("datatype", output.Datatype.ToString());
            WriteShape(json, output.Shape);
            json.WriteStartArray("data");
            if (output.Floats is { } floats)
            {
                foreach (float value in floats)
                {
                    if (!float.IsFinite(value)) throw new InvalidOperationException($"the model gave a non-finite value in '{output.Name}'");
                    json.WriteNumberValue(value);
                }
            }
            else
            {
                foreach (long value in output.Longs!) json.WriteNumberValue(value);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static string RequiredString(JsonElement element, string property, string what) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrEmpty(value.GetString())
            ? value.GetString()!
            : throw new InvalidInputException($"{what} needs a string \"{property}\"");

    static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
