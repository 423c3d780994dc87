using System.Runtime.InteropServices;
using Google.Protobuf;
using TorchSharp.Modules;

namespace Recipes.Runtime.Models.Onnx;

/// <summary>
/// A module that knows how to write itself into an ONNX graph: the model-specific part of an export, kept
/// next to the module class (so it moves with it). <see cref="OnnxGraphBuilder.Module"/> calls it.
/// </summary>
public interface IOnnxExportable
{
    /// <summary>Adds the nodes computing this module's forward pass (in evaluation mode) on the value
    /// <paramref name="input"/> and returns the name of the value holding the result.</summary>
    /// <param name="name">the module's path in the model (e.g. <c>features.layer1.0</c>), to name its initializers</param>
    string WriteOnnx(OnnxGraphBuilder graph, string input, string name);
}

/// <summary>
/// Builds an ONNX graph from TorchSharp modules in evaluation mode (TorchSharp has no exporter): one method
/// per ONNX operator these image models need, initializers copied from the modules' parameters and buffers,
/// and <see cref="Module"/>, which writes the standard TorchSharp modules (Sequential, Conv2d, BatchNorm2d,
/// ReLU, ReLU6, MaxPool2d, Flatten, Linear, Dropout, Identity) and anything implementing
/// <see cref="IOnnxExportable"/>. Inputs and outputs have a symbolic first dimension named
/// <see cref="BatchDimension"/>, so one file runs any batch size.
/// <para>Opset <see cref="OpsetVersion"/> (ONNX 1.12, IR version <see cref="IrVersion"/>): every operator used
/// here has had its present form since opset 13 at the latest (Slice, Pad, Clip take their bounds as inputs;
/// Softmax works on one axis), and ONNX Runtime 1.x runs it natively.</para>
/// </summary>
public sealed class OnnxGraphBuilder
{
    public const long OpsetVersion = 17;
    public const long IrVersion = 8;
    public const string BatchDimension = "batch";

    readonly GraphProto _graph;
    readonly HashSet<string> _names = [];
    readonly Dictionary<string, int> _counters = [];

    public OnnxGraphBuilder(string graphName)
    {
        _graph = new GraphProto { Name = graphName };
    }

    /// <summary>Declares a float input [batch, ...dimensions] and returns its name.</summary>
    public string Input(string name, params long[] dimensionsAfterBatch)
    {
        Claim(name);
        _graph.Input.Add(FloatValue(name, dimensionsAfterBatch.Select(d => d < 0 ? null : (long?)d)));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> as a graph output named <paramref name="name"/> [batch, ...]
    /// (an Identity node renames it when the names differ); null dimensions are left unnamed and unknown.</summary>
    public string Output(string name, string value, params long?[] dimensionsAfterBatch)
    {
        Claim(name);
        if (value != name) Node("Identity", [value], name);
        _graph.Output.Add(FloatValue(name, dimensionsAfterBatch));
        return name;
    }

    static ValueInfoProto FloatValue(string name, IEnumerable<long?> dimensionsAfterBatch)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = BatchDimension });
        foreach (long? dimension in dimensionsAfterBatch)
            shape.Dim.Add(dimension is { } value ? new TensorShapeProto.Types.Dimension { DimValue = value } : new TensorShapeProto.Types.Dimension());
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>A fresh value name: <paramref name="stem"/>, then stem_1, stem_2, ... (ONNX needs every name once).</summary>
    public string Name(string stem)
    {
        if (_names.Add(stem)) return stem;
        int next = _counters.GetValueOrDefault(stem);
        string candidate;
        do candidate = $"{stem}_{++next}"; while (_names.Contains(candidate));
        _counters[stem] = next;
        _names.Add(candidate);
        return candidate;
    }

    void Claim(string name)
    {
        if (!_names.Add(name)) throw new ArgumentException($"the graph already has a value named '{name}'");
    }

    /// <summary>A float initializer holding a copy of <paramref name="values"/> (detached, on the CPU) with its shape.</summary>
    public string Initializer(string stem, Tensor values)
    {
        using var scope = NewDisposeScope();
        var cpu = values.detach().to(ScalarType.Float32, CPU).contiguous();
        var data = cpu.data<float>().ToArray();
        var tensor = new TensorProto { Name = Name(stem), DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(cpu.shape);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A 64-bit integer initializer (shapes, indices, slice bounds), 1-d.</summary>
    public string Int64s(string stem, params long[] values)
    {
        var tensor = new TensorProto { Name = Name(stem), DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float scalar initializer (shape []).</summary>
    public string Scalar(string stem, float value)
    {
        var tensor = new TensorProto { Name = Name(stem), DataType = (int)TensorProto.Types.DataType.Float };
        tensor.FloatData.Add(value);
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, string? outputName = null, params AttributeProto[] attributes)
    {
        string output = outputName is null ? Name(opType.ToLowerInvariant()) : outputName;
        if (outputName is not null) _names.Add(outputName); // reserved by Name(), or a new explicit name
        var node = new NodeProto { OpType = opType, Name = $"{opType}:{output}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    // ---- Operators ----

    /// <summary>2-d convolution. <paramref name="pads"/> is ONNX's [top, left, bottom, right] (asymmetric allowed).</summary>
    public string Conv(string input, Tensor weight, Tensor? bias, long[] strides, long[] pads, long[] dilations, long groups, string stem = "conv")
    {
        var inputs = new List<string> { input, Initializer($"{stem}.weight", weight) };
        if (bias is not null) inputs.Add(Initializer($"{stem}.bias", bias));
        return Node("Conv", inputs, Name(stem),
            Ints("kernel_shape", weight.shape[2], weight.shape[3]), Ints("strides", strides), Ints("pads", pads),
            Ints("dilations", dilations), Int("group", groups));
    }

    public string Conv(string input, Conv2d convolution, string stem = "conv")
    {
        if (convolution.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"ONNX export: convolution padding mode {convolution.padding_mode} (only zero padding is written)");
        if (convolution.padding_type is not null && convolution.padding_type != Padding.Valid)
            throw new NotSupportedException($"ONNX export: convolution padding '{convolution.padding_type}' (give explicit padding)");
        long[] padding = convolution.padding_type == Padding.Valid || convolution.padding is null ? [0, 0] : Pair(convolution.padding);
        return Conv(input, convolution.weight!, convolution.bias, Pair(convolution.stride), [padding[0], padding[1], padding[0], padding[1]],
            Pair(convolution.dilation ?? [1]), convolution.groups, stem);
    }

    /// <summary>Batch normalisation with the running statistics (evaluation mode).</summary>
    public string BatchNorm(string input, BatchNorm2d batchNorm, string stem = "bn")
    {
        long channels = batchNorm.running_mean!.shape[0];
        using var ones = torch.ones(channels);
        using var zeros = torch.zeros(channels);
        var inputs = new List<string>
        {
            input,
            Initializer($"{stem}.weight", batchNorm.weight ?? ones),
            Initializer($"{stem}.bias", batchNorm.bias ?? zeros),
            Initializer($"{stem}.running_mean", batchNorm.running_mean!),
            Initializer($"{stem}.running_var", batchNorm.running_var!),
        };
        return Node("BatchNormalization", inputs, Name(stem), Float("epsilon", (float)batchNorm.eps));
    }

    /// <summary>y = x W^T + b over [N, in] (Gemm with transB, as torch.nn.Linear stores W as [out, in]).</summary>
    public string Linear(string input, Linear linear, string stem = "linear")
    {
        var inputs = new List<string> { input, Initializer($"{stem}.weight", linear.weight!) };
        if (linear.bias is not null) inputs.Add(Initializer($"{stem}.bias", linear.bias));
        return Node("Gemm", inputs, Name(stem), Int("transB", 1));
    }

    public string Relu(string input) => Node("Relu", [input]);

    public string Sigmoid(string input, string? outputName = null) => Node("Sigmoid", [input], outputName);

    public string Softmax(string input, long axis, string? outputName = null) => Node("Softmax", [input], outputName, Int("axis", axis));

    /// <summary>Clamps to [min, max] (ReLU6 is Clip(0, 6)).</summary>
    public string Clip(string input, float min, float max) => Node("Clip", [input, Scalar("clip.min", min), Scalar("clip.max", max)]);

    /// <summary>Max pooling; padded positions never win (ONNX pads max pooling with minus infinity, as torch does).</summary>
    public string MaxPool(string input, long[] kernel, long[] strides, long[] pads, bool ceilMode = false) =>
        Node("MaxPool", [input], null, Ints("kernel_shape", kernel), Ints("strides", strides), Ints("pads", pads), Int("ceil_mode", ceilMode ? 1 : 0));

    /// <summary>[N, C, H, W] to [N, C, 1, 1]: the mean over all positions.</summary>
    public string GlobalAveragePool(string input) => Node("GlobalAveragePool", [input]);

    /// <summary>[d0, ..., dk-1, dk, ...] to [d0 x ... x dk-1, dk x ...].</summary>
    public string Flatten(string input, long axis = 1) => Node("Flatten", [input], null, Int("axis", axis));

    /// <summary>Reshape; 0 in <paramref name="shape"/> copies that input dimension (so a dynamic batch stays dynamic), -1 is inferred.</summary>
    public string Reshape(string input, params long[] shape) => Node("Reshape", [input, Int64s("shape", shape)]);

    public string Transpose(string input, params long[] permutation) => Node("Transpose", [input], null, Ints("perm", permutation));

    public string Concat(IReadOnlyList<string> inputs, long axis, string? outputName = null) => Node("Concat", inputs, outputName, Int("axis", axis));

    public string Add(string a, string b) => Node("Add", [a, b]);

    public string Sub(string a, string b) => Node("Sub", [a, b]);

    public string Mul(string a, string b) => Node("Mul", [a, b]);

    /// <summary>Elements [start, end) along each of <paramref name="axes"/>.</summary>
    public string Slice(string input, long[] starts, long[] ends, long[] axes) =>
        Node("Slice", [input, Int64s("slice.starts", starts), Int64s("slice.ends", ends), Int64s("slice.axes", axes)]);

    /// <summary>Picks entries along <paramref name="axis"/> (e.g. reorders colour channels).</summary>
    public string Gather(string input, long[] indices, long axis) => Node("Gather", [input, Int64s("gather.indices", indices)], null, Int("axis", axis));

    // ---- Modules ----

    /// <summary>
    /// Writes a module's evaluation-mode forward pass: <see cref="IOnnxExportable"/> modules write themselves,
    /// Sequential chains its children, and the standard layers map to one operator each (Dropout and Identity
    /// to nothing). Anything else is refused with its type named, rather than exported approximately.
    /// </summary>
    public string Module(nn.Module module, string input, string stem = "")
    {
        string Child(string name) => stem.Length == 0 ? name : $"{stem}.{name}";
        switch (module)
        {
            case IOnnxExportable exportable:
                return exportable.WriteOnnx(this, input, stem);
            case Sequential sequential:
                foreach (var (name, child) in sequential.named_children()) input = Module(child, input, Child(name));
                return input;
            case Conv2d convolution:
                return Conv(input, convolution, stem.Length == 0 ? "conv" : stem);
            case BatchNorm2d batchNorm:
                return BatchNorm(input, batchNorm, stem.Length == 0 ? "bn" : stem);
            case Linear linear:
                return Linear(input, linear, stem.Length == 0 ? "linear" : stem);
            case ReLU:
                return Relu(input);
            case ReLU6:
                return Clip(input, 0, 6);
            case Hardtanh hardtanh:
                return Clip(input, (float)hardtanh.min_val, (float)hardtanh.max_val);
            case TorchSharp.Modules.Sigmoid:
                return Sigmoid(input);
            case MaxPool2d pool:
            {
                if (pool.dilation is { } dilation && dilation.Any(d => d != 1))
                    throw new NotSupportedException("ONNX export: dilated max pooling");
                long[] kernel = Pair(pool.kernel_size);
                long[] strides = pool.stride is { Length: > 0 } stride ? Pair(stride) : kernel;
                long[] padding = pool.padding is { Length: > 0 } p ? Pair(p) : [0, 0];
                return MaxPool(input, kernel, strides, [padding[0], padding[1], padding[0], padding[1]], pool.ceil_mode);
            }
            case Flatten flatten:
                if (flatten.end_dim != -1)
                    throw new NotSupportedException($"ONNX export: Flatten up to dimension {flatten.end_dim} (only to the last)");
                return Flatten(input, flatten.start_dim);
            case Dropout:
            case SeededDropout:
            case Identity:
                return input; // evaluation mode: the identity
            default:
                throw new NotSupportedException($"ONNX export: no writer for module {module.GetType().Name} ('{module.GetName()}'); implement {nameof(IOnnxExportable)} on it");
        }
    }

    static long[] Pair(long[] values) => values.Length switch
    {
        1 => [values[0], values[0]],
        2 => values,
        _ => throw new NotSupportedException($"ONNX export: expected 1 or 2 values for a 2-d layer, got [{string.Join(",", values)}]"),
    };

    /// <summary>The finished model: the graph, its opset import, and who produced it.</summary>
    public ModelProto Build(string docString = "")
    {
        if (_graph.Input.Count == 0 || _graph.Output.Count == 0)
            throw new InvalidOperationException("an ONNX graph needs at least one input and one output");
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Recipes.Runtime",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = _graph,
            DocString = docString,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        return model;
    }
}

/// <summary>Writes exported ONNX models to disk.</summary>
public static class OnnxExport
{
    /// <summary>Serialises the model to <paramref name="path"/> atomically (a reader never sees half a file).</summary>
    public static void Save(string path, ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        IO.AtomicFile.Write(path, stream => model.WriteTo(stream));
    }
}
