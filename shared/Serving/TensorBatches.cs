namespace Recipes.Serving;

/// <summary>Concatenating requests along the batch dimension and handing each its own rows of the outputs back.</summary>
static class TensorBatches
{
    /// <summary>True when two requests can share a forward: every input has the same non-batch dimensions.</summary>
    public static bool Compatible(IReadOnlyList<NamedTensor> a, IReadOnlyList<NamedTensor> b)
    {
        for (int i = 0; i < a.Count; i++)
            if (!a[i].Shape.AsSpan(1).SequenceEqual(b[i].Shape.AsSpan(1))) return false;
        return true;
    }

    /// <summary>The inputs of several requests (in the signature's order) as one batch, rows in request order.</summary>
    public static NamedTensor[] Concatenate(IReadOnlyList<IReadOnlyList<NamedTensor>> requests)
    {
        if (requests.Count == 1) return [.. requests[0]];
        var first = requests[0];
        var batch = new NamedTensor[first.Count];
        for (int i = 0; i < first.Count; i++)
        {
            long rows = requests.Sum(r => r[i].Shape[0]);
            long[] shape = [rows, .. first[i].Shape.AsSpan(1)];
            batch[i] = first[i].Floats is not null
                ? new NamedTensor(first[i].Name, shape, Floats: Join(requests.Select(r => r[i].Floats!)))
                : new NamedTensor(first[i].Name, shape, Longs: Join(requests.Select(r => r[i].Longs!)));
        }
        return batch;
    }

    static T[] Join<T>(IEnumerable<T[]> parts)
    {
        var list = parts as IList<T[]> ?? parts.ToList();
        var joined = new T[list.Sum(p => (long)p.Length)];
        long offset = 0;
        foreach (var part in list)
        {
            Array.Copy(part, 0, joined, offset, part.Length);
            offset += part.Length;
        }
        return joined;
    }

    /// <summary>Rows [<paramref name="firstRow"/>, +<paramref name="rows"/>) of every output.</summary>
    public static NamedTensor[] Slice(IReadOnlyList<NamedTensor> outputs, long totalRows, long firstRow, long rows)
    {
        if (firstRow == 0 && rows == totalRows) return [.. outputs];
        var slices = new NamedTensor[outputs.Count];
        for (int i = 0; i < outputs.Count; i++)
        {
            var output = outputs[i];
            long perRow = output.ElementCount / totalRows;
            long[] shape = [rows, .. output.Shape.AsSpan(1)];
            slices[i] = output.Floats is not null
                ? new NamedTensor(output.Name, shape, Floats: Range(output.Floats, firstRow * perRow, rows * perRow))
                : new NamedTensor(output.Name, shape, Longs: Range(output.Longs!, firstRow * perRow, rows * perRow));
        }
        return slices;
    }

    static T[] Range<T>(T[] values, long start, long length)
    {
        var part = new T[length];
        Array.Copy(values, start, part, 0, length);
        return part;
    }

    /// <summary>One row of zeros per input (size 1 where the signature leaves a dimension open): the warm-up request.</summary>
    public static NamedTensor[] WarmUpInputs(ModelSignature signature) =>
        signature.Inputs.Select(spec =>
        {
            long[] shape = spec.Shape.Select((size, d) => d == 0 || size < 0 ? 1 : size).ToArray();
            long count = shape.Aggregate(1L, (product, size) => product * size);
            return spec.Datatype == TensorDatatype.FP32
                ? new NamedTensor(spec.Name, shape, Floats: new float[count])
                : new NamedTensor(spec.Name, shape, Longs: new long[count]);
        }).ToArray();
}
