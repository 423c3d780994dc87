using Google.Protobuf;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models.Onnx;
using Recipes.Tests.Summaries;

namespace Recipes.Tests.Models;

[Collection(ImageNetCollection.Name)]
public class OnnxModelFileTests(ImageNetFixture imageNet)
{
    [Fact]
    public void Reads_the_ResNet18_graph_as_the_issue_describes_it()
    {
        var model = imageNet.Model;
        Assert.Equal(8, model.DefaultOpsetVersion());
        Assert.Equal("CNTK", model.ProducerName);
        var graph = model.Graph;
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet();
        var input = Assert.Single(graph.Input, i => !initializers.Contains(i.Name));
        Assert.Equal("Input247", input.Name);
        Assert.Equal([1L, 3, 224, 224], input.Dimensions());
        var output = Assert.Single(graph.Output);
        Assert.Equal("Pooling395_Output_0", output.Name);
        Assert.Equal([1L, 512, 1, 1], output.Dimensions());

        var operators = graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int>
        {
            ["Conv"] = 22, ["BatchNormalization"] = 22, ["Relu"] = 19, ["Add"] = 9, ["MaxPool"] = 1, ["AveragePool"] = 1,
        }, operators);
        var stem = graph.Node.First(n => n.OpType == "Conv");
        Assert.Equal([3L, 3, 2, 2], stem.Ints("pads", []));
        Assert.Equal([1L, 1, 0, 0], graph.Node.Single(n => n.OpType == "MaxPool").Ints("pads", []));
        Assert.All(graph.Node.Where(n => n.OpType == "BatchNormalization"), bn => Assert.Equal(1e-5f, bn.Float("epsilon", 0)));
    }

    [Fact]
    public void Reads_the_mean_image_values_whichever_encoding_the_tensor_uses()
    {
        var model = OnnxModelFile.Read(imageNet.PreprocessPath);
        var mean = Assert.Single(model.Graph.Initializer);
        Assert.Equal([1L, 3, 224, 224], mean.Dims);
        float[] typed = mean.ToFloats(imageNet.PreprocessPath);
        Assert.Equal(150528, typed.Length);

        // The same values written as little-endian raw_data must read back identically.
        var raw = new TensorProto { Name = "raw", DataType = mean.DataType, RawData = ByteString.CopyFrom(typed.SelectMany(BitConverter.GetBytes).ToArray()) };
        raw.Dims.AddRange(mean.Dims);
        Assert.Equal(typed, raw.ToFloats("raw.onnx"));

        var wrongLength = new TensorProto { Name = "short", DataType = 1, RawData = ByteString.CopyFrom(new byte[10]) };
        wrongLength.Dims.Add(3);
        var error = Assert.Throws<DataFileException>(() => wrongLength.ToFloats("bad.onnx"));
        Assert.Equal("bad.onnx: tensor 'short' has 10 bytes of data for 3 floats of shape [3]", error.Message);

        var integers = new TensorProto { Name = "ints", DataType = (int)TensorProto.Types.DataType.Int64 };
        Assert.Contains("expected FLOAT", Assert.Throws<DataFileException>(() => integers.ToFloats("bad.onnx")).Message);
    }

    [Fact]
    public void Bad_files_fail_with_the_file_name_and_the_problem()
    {
        using var folder = new TemporaryFolder();
        string missing = folder.File("missing.onnx");
        Assert.Equal($"{missing}: ONNX model file not found", Assert.Throws<DataFileException>(() => OnnxModelFile.Read(missing)).Message);

        string text = folder.File("text.onnx");
        File.WriteAllText(text, "this is not a protobuf message at all\n");
        var notOnnx = Assert.Throws<DataFileException>(() => OnnxModelFile.Read(text));
        Assert.StartsWith($"{text}: not an ONNX model", notOnnx.Message);

        string truncated = folder.File("truncated.onnx");
        File.WriteAllBytes(truncated, File.ReadAllBytes(imageNet.PreprocessPath).AsSpan(0, 4000).ToArray());
        Assert.StartsWith($"{truncated}: not an ONNX model", Assert.Throws<DataFileException>(() => OnnxModelFile.Read(truncated)).Message);

        string empty = folder.File("empty.onnx");
        File.WriteAllBytes(empty, new ModelProto { IrVersion = 3, ProducerName = "test" }.ToByteArray());
        Assert.Equal($"{empty}: not an ONNX model: it has no graph nodes", Assert.Throws<DataFileException>(() => OnnxModelFile.Read(empty)).Message);

        var external = OnnxModelFile.Read(imageNet.PreprocessPath);
        external.Graph.Initializer[0].DataLocation = TensorProto.Types.DataLocation.External;
        string externalPath = folder.File("external.onnx");
        File.WriteAllBytes(externalPath, external.ToByteArray());
        Assert.Contains("external file", Assert.Throws<DataFileException>(() => OnnxModelFile.Read(externalPath)).Message);
    }
}
