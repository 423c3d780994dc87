using Recipes.Runtime.Data;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.Onnx;
using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Models.Surgery;
using static TorchSharp.torch;

namespace Recipes.Tests.Models;

[Collection(ImageNetCollection.Name)]
public class ResNetImportTests(ImageNetFixture imageNet)
{
    [Fact]
    public void The_layout_read_off_the_graph_is_the_CNTK_ResNet18_with_asymmetric_padding()
    {
        var reading = ResNetOnnxImporter.ReadGraph(imageNet.Model, imageNet.ModelPath);
        var layout = reading.Layout;
        Assert.True(layout.SameAs(ResNetLayout.CntkImageNetResNet18));
        Assert.Equal(22, layout.ConvolutionCount);
        Assert.Equal(1e-5, layout.BatchNormEpsilon);
        Assert.Equal(new SidePadding(3, 3, 2, 2), layout.Stem.Padding);
        Assert.Equal(new SidePadding(1, 1, 0, 0), layout.PoolPadding);
        Assert.Equal([2, 2, 2, 3], layout.Stages.Select(stage => stage.Count));
        Assert.All(layout.Stages.Skip(1), stage => Assert.Equal(new SidePadding(1, 1, 0, 0), stage[0].First.Padding));
        Assert.All(layout.Stages.Skip(1), stage => Assert.Equal(new SidePadding(0, 0, 0, 0), stage[0].Projection!.Padding));
        Assert.Equal(512, layout.FeatureLength);
        Assert.Equal((7L, 7L), layout.FeatureMapSize(224, 224));
        Assert.Equal(("Input247", "Pooling395_Output_0"), (reading.InputName, reading.OutputName));
    }

    [Fact]
    public void Preprocessing_in_TorchSharp_equals_the_ONNX_preprocessing_graph()
    {
        var preprocessing = imageNet.Preprocessing;
        Assert.Equal([2L, 1, 0], preprocessing.ChannelOrder);
        float[] means = preprocessing.ChannelMeans();
        Assert.Equal(103.06, means[0], 0.01);
        Assert.Equal(115.90, means[1], 0.01);
        Assert.Equal(123.15, means[2], 0.01);

        using var scope = NewDisposeScope();
        var rgb = SamplePhotos.Rgb224(3);
        var ours = preprocessing.Apply(rgb);
        var reference = imageNet.OnnxPreprocessing.Extract(rgb).reshape(3, 3, 224, 224);
        Assert.True(ours.allclose(reference, rtol: 0, atol: 1e-4), $"max difference {(ours - reference).abs().max().item<float>()}");
        // BGR: the model's first channel is the image's blue one, minus its mean.
        Assert.Equal(rgb[1, 2, 100, 100].item<float>() - preprocessing.MeanImage[0, 0, 100, 100].item<float>(), ours[1, 0, 100, 100].item<float>(), 1e-4);
        Assert.Throws<ArgumentException>(() => preprocessing.Apply(zeros(1, 3, 200, 200)));
    }

    [Fact]
    public void Imported_network_agrees_with_ONNX_Runtime_within_1e_3_on_all_512_features_of_real_photographs()
    {
        using var scope = NewDisposeScope();
        var images = imageNet.Preprocessing.Apply(SamplePhotos.Rgb224(4));
        var reference = imageNet.OnnxFeatures.Extract(images);
        using var torchFeatures = new TorchFeatureExtractor(imageNet.Backbone, ImageNetResNet18.FeatureLength, batchSize: 2, ownsNetwork: false);
        var ours = torchFeatures.Extract(images);

        Assert.Equal([4L, 512], ours.shape);
        Assert.Equal([4L, 512], reference.shape);
        float maxDifference = (ours - reference).abs().max().item<float>();
        Assert.True(maxDifference <= 1e-3f, $"max |TorchSharp - ONNX Runtime| = {maxDifference}");
        // Real features, not a degenerate agreement: ReLU outputs averaged, varied, different per image.
        Assert.True(reference.min().item<float>() >= 0 && reference.max().item<float>() > 1);
        Assert.True((reference[0] - reference[1]).abs().max().item<float>() > 0.5f);
    }

    [Fact]
    public void ONNX_Runtime_with_the_batch_dimension_made_symbolic_runs_a_batch_in_one_call_with_the_same_features()
    {
        using var scope = NewDisposeScope();
        var images = imageNet.Preprocessing.Apply(SamplePhotos.Rgb224(3));
        using var batched = new OnnxImageModelSession(imageNet.ModelPath, batchSize: 3);
        var together = batched.Extract(images);
        var oneByOne = imageNet.OnnxFeatures.Extract(images);
        Assert.Equal([3L, 512], together.shape);
        Assert.True(together.allclose(oneByOne, rtol: 0, atol: 1e-4), $"max difference {(together - oneByOne).abs().max().item<float>()}");
    }

    /// <summary>
    /// Where the odd padding row goes is what matters. torchvision pads (3,3,3,3) and (1,1,1,1): the same top
    /// and left padding as CNTK's, and the extra bottom and right rows are never reached by a stride-2 window
    /// on these even sizes, so the numbers are the same. TensorFlow's "same" padding puts the odd row at the
    /// end ((2,2,3,3) and (0,0,1,1)), shifting every window by a pixel: different numbers.
    /// </summary>
    [Fact]
    public void Padding_that_shifts_the_stride_2_windows_changes_the_features_padding_the_unreached_end_does_not()
    {
        using var scope = NewDisposeScope();
        var images = imageNet.Preprocessing.Apply(SamplePhotos.Rgb224(2));
        var reference = imageNet.OnnxFeatures.Extract(images);

        float torchvisionDifference = MaxDifferenceWithPadding(images, reference, p => new SidePadding(p.Top, p.Left, p.Top, p.Left));
        float tensorflowDifference = MaxDifferenceWithPadding(images, reference, p => new SidePadding(p.Bottom, p.Right, p.Top, p.Left));
        Assert.True(torchvisionDifference <= 1e-3f, $"torchvision-style padding: {torchvisionDifference}");
        Assert.True(tensorflowDifference > 0.1f, $"TensorFlow-style padding: {tensorflowDifference}");
    }

    float MaxDifferenceWithPadding(Tensor images, Tensor reference, Func<SidePadding, SidePadding> repad)
    {
        var layout = ResNetLayout.CntkImageNetResNet18;
        ConvolutionSpec Repad(ConvolutionSpec c) => c with { Padding = repad(c.Padding) };
        var repadded = layout with
        {
            Stem = Repad(layout.Stem),
            PoolPadding = repad(layout.PoolPadding),
            Stages = layout.Stages.Select(stage => (IReadOnlyList<BasicBlockSpec>)stage.Select(b => new BasicBlockSpec(Repad(b.First), Repad(b.Second), b.Projection)).ToList()).ToList(),
        };
        using var network = ResNetBackbone.Build(repadded);
        network.load_state_dict(imageNet.Backbone.state_dict());
        using var extractor = new TorchFeatureExtractor(network, 512, ownsNetwork: false);
        using var features = extractor.Extract(images);
        Assert.Equal(reference.shape, features.shape);
        return (features - reference).abs().max().item<float>();
    }

    [Fact]
    public void A_graph_that_is_not_a_basic_block_ResNet_is_refused_naming_the_node()
    {
        var graph = imageNet.Model.Graph;
        var convolution = graph.Node.First(n => n.OpType == "Conv" && n.Name == "Convolution263");
        var group = new AttributeProto { Name = "group", Type = AttributeProto.Types.AttributeType.Int, I = 2 };
        int index = convolution.Attribute.IndexOf(convolution.Attribute.Single(a => a.Name == "group"));
        var original = convolution.Attribute[index];
        try
        {
            convolution.Attribute[index] = group;
            var error = Assert.Throws<DataFileException>(() => ResNetOnnxImporter.ReadGraph(imageNet.Model, imageNet.ModelPath));
            Assert.Equal($"{imageNet.ModelPath}: Conv node 'Convolution263': grouped or dilated convolutions are not supported", error.Message);
        }
        finally
        {
            convolution.Attribute[index] = original;
        }

        var stray = new NodeProto { OpType = "Relu", Name = "Stray", Input = { "Plus267_Output_0" }, Output = { "stray" } };
        graph.Node.Add(stray);
        try
        {
            var error = Assert.Throws<DataFileException>(() => ResNetOnnxImporter.ReadGraph(imageNet.Model, imageNet.ModelPath));
            Assert.Contains("expected 'Plus267_Output_0' to be read by one Relu node, found Relu node 'ReLU269', Relu node 'Stray'", error.Message);
        }
        finally
        {
            graph.Node.Remove(stray);
        }
        Assert.True(ResNetOnnxImporter.ReadGraph(imageNet.Model, imageNet.ModelPath).Layout.SameAs(ResNetLayout.CntkImageNetResNet18));
    }

    [Fact]
    public void Cutting_the_imported_network_at_a_named_stage_gives_that_stage_s_feature_maps()
    {
        Assert.Equal(["stem", "layer1", "layer1.0", "layer1.1", "layer2", "layer2.0", "layer2.1", "layer3", "layer3.0", "layer3.1",
            "layer4", "layer4.0", "layer4.1", "layer4.2", "pool"], GraphSurgery.LayerNames(imageNet.Backbone));
        using var scope = NewDisposeScope();
        var images = imageNet.Preprocessing.Apply(SamplePhotos.Rgb224(1));
        var cut = GraphSurgery.CutAt(imageNet.Backbone, "layer3");
        cut.eval();
        using var noGrad = no_grad();
        Assert.Equal([1L, 256, 14, 14], cut.forward(images).shape);
        Assert.Equal([1L, 64, 56, 56], GraphSurgery.CutAt(imageNet.Backbone, "stem").forward(images).shape);
        var error = Assert.Throws<ArgumentException>(() => GraphSurgery.CutAt(imageNet.Backbone, "layer9"));
        Assert.StartsWith("no layer named 'layer9'; the layers are: stem, layer1", error.Message);
    }
}
