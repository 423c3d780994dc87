using Recipes.Tests.Models;
using Recipes.TransferLearning;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.TransferLearning;

[Collection(ImageNetCollection.Name)]
public class ImageNetTransferTests(ImageNetFixture imageNet)
{
    [Fact]
    public void A_head_trained_on_ONNX_Runtime_features_classifies_the_same_inside_the_TorchSharp_network()
    {
        using var transfer = new ImageNetTransfer(BackboneTraining.FrozenOnnxRuntime, classCount: 2);
        Assert.NotNull(transfer.FrozenFeatures);
        using var scope = NewDisposeScope();
        var images = imageNet.Preprocessing.Apply(SamplePhotos.Rgb224(4));
        var labels = torch.tensor(new long[] { 0, 1, 0, 1 });
        var features = transfer.TrainingInputs(images);
        Assert.Equal([4L, 512], features.shape);

        torch.random.manual_seed(4).Dispose();
        using var headNetwork = transfer.CreateTrainable();
        Assert.Equal(512 * 2 + 2, headNetwork.parameters().Sum(p => p.numel()));
        var optimizer = optim.Adam(headNetwork.parameters(), lr: 0.01);
        double firstLoss = 0, lastLoss = 0;
        headNetwork.train();
        for (int step = 0; step < 20; step++)
        {
            optimizer.zero_grad();
            using var loss = nn.functional.cross_entropy(headNetwork.forward(features), labels);
            loss.backward();
            optimizer.step();
            if (step == 0) firstLoss = loss.item<float>();
            lastLoss = loss.item<float>();
        }
        Assert.True(lastLoss < firstLoss / 2, $"loss {firstLoss} -> {lastLoss}");

        using var classifier = transfer.CreateClassifier(headNetwork);
        classifier.eval();
        using var noGrad = no_grad();
        var fromOnnx = headNetwork.forward(features);
        var fromTorch = classifier.forward(images);
        Assert.True(fromTorch.allclose(fromOnnx, rtol: 0, atol: 1e-3), $"max difference {(fromTorch - fromOnnx).abs().max().item<float>()}");
        Assert.Equal(["head.weight", "head.bias"], classifier.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name));
    }

    [Fact]
    public void Fine_tuning_trains_only_the_layers_after_the_freeze_point_and_the_head()
    {
        using var transfer = new ImageNetTransfer(BackboneTraining.FineTuneTorchSharp, classCount: 3, freezeUpTo: "layer4.0");
        Assert.Null(transfer.FrozenFeatures);
        using var network = transfer.CreateTrainable();
        var names = network.named_parameters().Select(p => p.name).ToList();
        Assert.All(names, name => Assert.True(name.StartsWith("trainable.layer4.1.", StringComparison.Ordinal)
            || name.StartsWith("trainable.layer4.2.", StringComparison.Ordinal) || name.StartsWith("head.", StringComparison.Ordinal), name));
        Assert.All(network.parameters(), p => Assert.True(p.requires_grad));
        Assert.Contains("head.weight", names);
        // The trainable copy starts from the pretrained weights.
        var pretrained = imageNet.Backbone.state_dict()["layer4.2.conv2.conv.weight"];
        Assert.True(network.state_dict()["trainable.layer4.2.conv2.conv.weight"].eq(pretrained).all().item<bool>());

        using var scope = NewDisposeScope();
        var images = imageNet.Preprocessing.Apply(SamplePhotos.Rgb224(2));
        var activations = transfer.TrainingInputs(images);
        Assert.Equal([2L, 512, 7, 7], activations.shape);
        Assert.False(activations.requires_grad);
        network.eval();
        var logits = network.forward(activations);
        using var classifier = transfer.CreateClassifier(network);
        classifier.eval();
        Assert.Contains(classifier.named_parameters(), p => p.name.StartsWith("frozen.layers.layer4.0.", StringComparison.Ordinal) && !p.parameter.requires_grad);
        Assert.True(classifier.forward(images).allclose(logits, rtol: 0, atol: 1e-5));

        var error = Assert.Throws<ArgumentException>(() => new ImageNetTransfer(BackboneTraining.FineTuneTorchSharp, 2, freezeUpTo: "block9"));
        Assert.StartsWith("no layer named 'block9' to freeze up to", error.Message);
    }
}
