using Recipes.Runtime.Data;

namespace Recipes.Runtime.Models.Onnx;

/// <summary>Typed access to a node's attributes, with the defaults the ONNX operator specification gives.</summary>
public static class OnnxNodeAttributes
{
    public static AttributeProto? Attribute(this NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    public static long[] Ints(this NodeProto node, string name, long[] defaultValue) =>
        node.Attribute(name) is { } attribute ? attribute.Ints.ToArray() : defaultValue;

    public static long Int(this NodeProto node, string name, long defaultValue) =>
        node.Attribute(name) is { HasI: true } attribute ? attribute.I : defaultValue;

    public static float Float(this NodeProto node, string name, float defaultValue) =>
        node.Attribute(name) is { HasF: true } attribute ? attribute.F : defaultValue;

    public static string Text(this NodeProto node, string name, string defaultValue) =>
        node.Attribute(name) is { HasS: true } attribute ? attribute.S.ToStringUtf8() : defaultValue;

    /// <summary>Describes a node for error messages: its operator, name and first output.</summary>
    public static string Describe(this NodeProto node) =>
        $"{node.OpType} node '{(string.IsNullOrEmpty(node.Name) ? node.Output.FirstOrDefault() : node.Name)}'";

    internal static DataFileException Unexpected(this NodeProto node, string path, string problem) =>
        new(path, $"{node.Describe()}: {problem}");
}
