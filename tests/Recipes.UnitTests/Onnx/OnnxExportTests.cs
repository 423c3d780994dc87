using Microsoft.ML.OnnxRuntime;
using Recipes.Mnist;
using Recipes.ObjectDetection;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.Onnx;
using Recipes.Tests.Models;
using Recipes.TransferLearning;
using Recipes.Xray;
using Xunit.Abstractions;
using static TorchSharp.torch;
using OrtFloats = Microsoft.ML.OnnxRuntime.Tensors.Tensor<float>;

namespace Recipes.Tests.Onnx;

/// <summary>
/// Each exported model runs in ONNX Runtime and agrees with the TorchSharp network it came from within 1e-4 (the
/// issue's bound: both compute in float32 with different kernels and summation orders, so agreement is to rounding,
/// never bit-exact), at batch 3 and at batch 1 from the same file (the batch dimension is symbolic).
/// </summary>
[Collection(ImageNetCollection.Name)]
public sealed class OnnxExportTests(ITestOutputHelper output) : IDisposable
{
    const double Tolerance = 1e-4;
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"onnx-export-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void LeNet5_with_random_weights_runs_in_ONNX_Runtime_as_in_TorchSharp()
    {
        random.manual_seed(11).Dispose();
        using var network = new LeNet5(10);
        network.eval();
        var normalisation = new PixelNormalisation(0.1307, 0.3081);
        string path = Path.Combine(_folder, "lenet5.onnx");
        network.ExportOnnx(path, normalisation);

        using var scope = NewDisposeScope();
        using var generator = new Generator().manual_seed(12);
        var pixels = randint(0, 256, [3, 1, 28, 28], generator: generator).to(ScalarType.Float32);
        Tensor expected;
        using (no_grad())
            expected = network.forward((pixels / 255 - normalisation.Mean) / normalisation.Std);
        var outputs = AssertAgrees(path, pixels, ("logits", expected), ("probabilities", expected.softmax(1)));
        Assert.Equal([3, 10], outputs["logits"].Dimensions.ToArray());
    }

    [Fact]
    public void Transfer_classifier_on_the_ImageNet_ResNet18_runs_in_ONNX_Runtime_as_in_TorchSharp()
    {
        using var transfer = new ImageNetTransfer(BackboneTraining.FineTuneTorchSharp, classCount: 3, freezeUpTo: "layer3");
        random.manual_seed(21).Dispose();
        using var trained = transfer.CreateTrainable(); // disposed after the classifier, which takes over its layers
        using var classifier = transfer.CreateClassifier(trained);
        classifier.eval();
        using var preprocessing = ImageNetResNet18.LoadPreprocessing();
        string path = Path.Combine(_folder, "transfer.onnx");
        ImageNetTransferOnnx.Save(path, classifier, preprocessing, transfer.ClassCount);

        using var scope = NewDisposeScope();
        var images = SamplePhotos.Rgb224(3);
        Tensor expected;
        using (no_grad())
            expected = classifier.forward(preprocessing.Apply(images));
        AssertAgrees(path, images, ("logits", expected), ("probabilities", expected.softmax(1)));
    }

    [Fact]
    public void Chest_xray_network_as_the_recipe_builds_it_exports_logits_and_class_activation_maps()
    {
        random.manual_seed(31).Dispose();
        using var network = ChestXrayArchitectures.Create(ChestXrayArchitectures.ResNet18, ChestXrayFindings.Count, weightsFile: null, TextWriter.Null);
        network.eval();
        string path = Path.Combine(_folder, "xray.onnx");
        network.ExportOnnx(path);

        using var scope = NewDisposeScope();
        var images = SamplePhotos.Rgb224(3);
        Tensor logits, maps, mapLogits;
        using (no_grad())
        {
            logits = network.forward(images);
            (mapLogits, maps) = network.ForwardWithMaps(images);
        }
        var outputs = AssertAgrees(path, images, ("logits", logits), ("probabilities", logits.sigmoid()), ("class_activation_maps", maps));
        Assert.Equal([3, ChestXrayFindings.Count, 7, 7], outputs["class_activation_maps"].Dimensions.ToArray());
    }

    [Theory]
    [InlineData(DetectionBackbones.ResNet18)]
    [InlineData(DetectionBackbones.MobileNetV2)]
    public void Ssd_detector_as_the_recipe_builds_it_exports_its_raw_predictions(string backboneName)
    {
        random.manual_seed(41).Dispose();
        using var network = new SsdNetwork(DetectionBackbones.Create(backboneName, pretrained: true), objectClasses: 20, imageSize: 320);
        network.eval();
        string path = Path.Combine(_folder, "ssd.onnx");
        network.ExportOnnx(path);

        using var scope = NewDisposeScope();
        using var generator = new Generator().manual_seed(42);
        var images = rand([3, 3, 320, 320], generator: generator) * 255;
        Tensor expected;
        using (no_grad())
            expected = network.forward(images);
        var outputs = AssertAgrees(path, images, ("detections", expected));
        Assert.Equal([3, network.DefaultBoxes.Count, 4 + 20 + 1], outputs["detections"].Dimensions.ToArray());
    }

    [Fact]
    public void Exported_model_declares_its_opset_IR_version_and_a_symbolic_batch_dimension()
    {
        using var network = new LeNet5(4);
        string path = Save("lenet5.onnx", network.ToOnnx());
        var model = OnnxModelFile.Read(path);
        Assert.Equal(OnnxGraphBuilder.IrVersion, model.IrVersion);
        Assert.Equal(OnnxGraphBuilder.OpsetVersion, model.DefaultOpsetVersion());
        Assert.Equal("images", Assert.Single(model.Graph.Input).Name);
        Assert.Equal(["logits", "probabilities"], model.Graph.Output.Select(o => o.Name));
        foreach (var value in model.Graph.Input.Concat(model.Graph.Output))
            Assert.Equal(OnnxGraphBuilder.BatchDimension, value.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal([-1L, 1, 28, 28], model.Graph.Input[0].Dimensions());
        // Checker basics: every node input is a graph input, an initializer or an earlier node's output; names are unique.
        var known = model.Graph.Input.Select(i => i.Name).Concat(model.Graph.Initializer.Select(t => t.Name)).ToHashSet();
        foreach (var node in model.Graph.Node)
        {
            Assert.All(node.Input, input => Assert.Contains(input, known));
            Assert.All(node.Output, output => Assert.True(known.Add(output), $"'{output}' is produced twice"));
        }
        Assert.All(model.Graph.Output, output => Assert.Contains(output.Name, known));
        // Nothing but the file itself is left in the folder (written through a temporary file and a rename).
        Assert.Equal(["lenet5.onnx"], Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public void A_module_without_an_ONNX_writer_is_refused_by_name()
    {
        var graph = new OnnxGraphBuilder("test");
        string input = graph.Input("images", 3, 8, 8);
        using var unsupported = nn.Sequential(("conv", nn.Conv2d(3, 4, 3)), ("act", nn.GELU()));
        var error = Assert.Throws<NotSupportedException>(() => graph.Module(unsupported, input));
        Assert.Contains("GELU", error.Message);
    }

    string Save(string fileName, ModelProto model)
    {
        string path = Path.Combine(_folder, fileName);
        Directory.CreateDirectory(_folder);
        OnnxExport.Save(path, model);
        return path;
    }

    /// <summary>Runs the file on the batch and on its first image alone; each named output must match the
    /// TorchSharp tensor (and its first row) within <see cref="Tolerance"/>. Returns the batch's outputs.</summary>
    Dictionary<string, OrtFloats> AssertAgrees(string path, Tensor inputs, params (string Name, Tensor Expected)[] expectations)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options); // loading is ONNX Runtime's own model check
        Assert.Equal("images", Assert.Single(session.InputMetadata).Key);
        Assert.Equal(-1, session.InputMetadata["images"].Dimensions[0]);
        var batch = Run(session, inputs);
        using var first = inputs.narrow(0, 0, 1);
        var single = Run(session, first);
        foreach (var (name, expected) in expectations)
        {
            AssertClose(name, expected, batch[name]);
            using var expectedFirst = expected.narrow(0, 0, 1);
            AssertClose($"{name} (batch 1)", expectedFirst, single[name]);
        }
        return batch;
    }

    static Dictionary<string, OrtFloats> Run(InferenceSession session, Tensor inputs)
    {
        using var contiguous = inputs.contiguous();
        var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(contiguous.data<float>().ToArray(), contiguous.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("images", input)]);
        // Copied out: the results' memory belongs to ONNX Runtime and is freed with them.
        return results.ToDictionary(r => r.Name, r =>
        {
            var values = r.AsTensor<float>();
            return (OrtFloats)new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values.ToArray(), values.Dimensions);
        });
    }

    void AssertClose(string name, Tensor expected, OrtFloats actual)
    {
        Assert.Equal(expected.shape, actual.Dimensions.ToArray().Select(d => (long)d));
        float[] wanted = expected.contiguous().data<float>().ToArray();
        float[] got = actual.ToArray();
        double maxDifference = wanted.Zip(got).Max(pair => Math.Abs((double)pair.First - pair.Second));
        double largest = wanted.Max(value => Math.Abs((double)value));
        output.WriteLine($"ONNX Runtime vs TorchSharp, {name}: max abs difference {maxDifference:E2} over {wanted.Length} values (largest |value| {largest:G3})");
        Assert.True(maxDifference <= Tolerance, $"{name}: max abs difference {maxDifference:E2} exceeds {Tolerance:E0}");
    }
}
