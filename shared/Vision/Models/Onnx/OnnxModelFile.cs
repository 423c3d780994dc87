using Google.Protobuf;
using Recipes.Runtime.Data;

namespace Recipes.Runtime.Models.Onnx;

/// <summary>
/// Reads an ONNX model file (a serialised <see cref="ModelProto"/>) and checks what every importer relies
/// on: a graph with nodes, declared inputs and outputs, and initializers stored inside the file.
/// </summary>
public static class OnnxModelFile
{
    public static ModelProto Read(string path)
    {
        if (!File.Exists(path))
            throw new DataFileException(path, "ONNX model file not found");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException error)
        {
            throw new DataFileException(path, $"not an ONNX model: {error.Message}", error);
        }
        Validate(path, model);
        return model;
    }

    static void Validate(string path, ModelProto model)
    {
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new DataFileException(path, "not an ONNX model: it has no graph nodes");
        if (model.Graph.Input.Count == 0 || model.Graph.Output.Count == 0)
            throw new DataFileException(path, "ONNX graph declares no inputs or no outputs");
        foreach (var initializer in model.Graph.Initializer)
        {
            if (initializer.DataLocation == TensorProto.Types.DataLocation.External)
                throw new DataFileException(path, $"initializer '{initializer.Name}' keeps its data in an external file, which this reader does not follow");
        }
    }

    /// <summary>
    /// Makes the first (batch) dimension of the graph's inputs, outputs and recorded intermediate shapes
    /// symbolic, for exporters that fixed it at 1 though every operator works per sample: then ONNX Runtime
    /// can run a whole batch in one call.
    /// </summary>
    public static void MakeBatchDimensionSymbolic(this ModelProto model, string name = "batch")
    {
        foreach (var value in model.Graph.Input.Concat(model.Graph.Output).Concat(model.Graph.ValueInfo))
        {
            var dimensions = value.Type?.TensorType?.Shape?.Dim;
            if (dimensions is null || dimensions.Count == 0) continue;
            if (model.Graph.Initializer.Any(t => t.Name == value.Name)) continue;
            dimensions[0] = new TensorShapeProto.Types.Dimension { DimParam = name };
        }
    }

    /// <summary>The opset version the model imports for the default ONNX domain (0 when it names none).</summary>
    public static long DefaultOpsetVersion(this ModelProto model) =>
        model.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

    /// <summary>The fixed dimensions of a declared input or output; -1 where the model leaves one symbolic.</summary>
    public static long[] Dimensions(this ValueInfoProto value) =>
        value.Type?.TensorType?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1).ToArray()
        ?? [];
}
