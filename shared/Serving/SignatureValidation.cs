namespace Recipes.Serving;

/// <summary>
/// Checks a request against a model's signature before it is queued, so a bad request fails alone with a one-line
/// <see cref="InvalidInputException"/> (a 400) instead of failing the batch it would have joined.
/// </summary>
public static class SignatureValidation
{
    /// <summary>
    /// The inputs in the signature's order, and the request's batch size (the first dimension, shared by all inputs).
    /// Every input must be named once, have the declared datatype and rank, and every non-batch dimension the signature
    /// fixes; the value count must match the shape.
    /// </summary>
    public static (NamedTensor[] Ordered, int Rows) Validate(ModelSignature signature, IReadOnlyList<NamedTensor>? inputs)
    {
        string expectedNames = string.Join(", ", signature.Inputs.Select(i => i.Name));
        if (inputs is null || inputs.Count == 0)
            throw new InvalidInputException($"model '{signature.Name}' takes inputs [{expectedNames}]; the request has none");
        var byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (var input in inputs)
        {
            if (input is null) throw new InvalidInputException("an input of the request is null");
            if (!signature.Inputs.Any(spec => spec.Name == input.Name))
                throw new InvalidInputException($"model '{signature.Name}' has no input named '{input.Name}' (its inputs: {expectedNames})");
            if (!byName.TryAdd(input.Name, input))
                throw new InvalidInputException($"input '{input.Name}' is given more than once");
        }

        var ordered = new NamedTensor[signature.Inputs.Count];
        long rows = -1;
        string? rowsFrom = null;
        for (int i = 0; i < ordered.Length; i++)
        {
            var spec = signature.Inputs[i];
            if (!byName.TryGetValue(spec.Name, out var input))
                throw new InvalidInputException($"input '{spec.Name}' is missing (model '{signature.Name}' takes {expectedNames})");
            CheckOne(spec, input);
            if (rows >= 0 && input.Shape[0] != rows)
                throw new InvalidInputException($"inputs '{rowsFrom}' and '{input.Name}' have different batch sizes ({rows} and {input.Shape[0]})");
            rows = input.Shape[0];
            rowsFrom = input.Name;
            ordered[i] = input;
        }
        if (rows > int.MaxValue) throw new InvalidInputException($"a batch of {rows} rows is too large");
        return (ordered, (int)rows);
    }

    static void CheckOne(TensorSpec spec, NamedTensor input)
    {
        if (input.Shape is null || input.Shape.Length == 0)
            throw new InvalidInputException($"input '{spec.Name}' has no shape; expected {Describe(spec.Shape)} (batch first)");
        if (input.Floats is null && input.Longs is null)
            throw new InvalidInputException($"input '{spec.Name}' has no values");
        if (input.Floats is not null && input.Longs is not null)
            throw new InvalidInputException($"input '{spec.Name}' carries both FP32 and INT64 values");
        if (input.Datatype != spec.Datatype)
            throw new InvalidInputException($"input '{spec.Name}' must be {spec.Datatype}, got {input.Datatype}");
        if (input.Shape.Length != spec.Shape.Length)
            throw new InvalidInputException($"input '{spec.Name}' must have shape {Describe(spec.Shape)} (batch first), got {Describe(input.Shape)}");
        if (input.Shape.Any(size => size < 0))
            throw new InvalidInputException($"input '{spec.Name}' has a negative dimension in {Describe(input.Shape)}");
        if (input.Shape[0] < 1)
            throw new InvalidInputException($"input '{spec.Name}' has an empty batch (shape {Describe(input.Shape)})");
        for (int d = 1; d < spec.Shape.Length; d++)
            if (spec.Shape[d] >= 0 && input.Shape[d] != spec.Shape[d])
                throw new InvalidInputException($"input '{spec.Name}' must have shape {Describe(spec.Shape)} (batch first), got {Describe(input.Shape)}");
        long expected;
        try { expected = input.Shape.Aggregate(1L, (product, size) => checked(product * size)); }
        catch (OverflowException) { throw new InvalidInputException($"input '{spec.Name}' declares too many values (shape {Describe(input.Shape)})"); }
        long actual = input.Floats?.LongLength ?? input.Longs!.LongLength;
        if (actual != expected)
            throw new InvalidInputException($"input '{spec.Name}' has {actual} values for shape {Describe(input.Shape)} ({expected} expected)");
    }

    /// <summary>A shape as the service writes it: [-1,3,224,224].</summary>
    public static string Describe(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";
}
