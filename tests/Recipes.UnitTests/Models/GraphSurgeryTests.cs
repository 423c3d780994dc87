using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Models.Surgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Tests.Models;

[Collection(ProcessWideState.Name)] // seeds libtorch's generator for its networks' weights
public class GraphSurgeryTests
{
    /// <summary>A small random ResNet with the ImageNet model's structure, fast enough to train in a test.</summary>
    static Sequential SmallResNet()
    {
        torch.random.manual_seed(3).Dispose();
        return ResNetBackbone.Build(ResNetLayout.Create([1, 2, 1], [4, 8, 16]));
    }

    /// <summary>Bit for bit: the same shape and exactly the same values.</summary>
    static bool Identical(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.detach().clone());

    [Fact]
    public void Splitting_inside_a_stage_keeps_the_names_and_computes_the_same_function()
    {
        using var backbone = SmallResNet();
        backbone.eval();
        var (upTo, after) = GraphSurgery.Split(backbone, "layer2.0");
        Assert.Equal(["stem", "layer1", "layer1.0", "layer2", "layer2.0"], GraphSurgery.LayerNames(upTo));
        Assert.Equal(["layer2", "layer2.1", "layer3", "layer3.0", "pool"], GraphSurgery.LayerNames(after));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = randn(2, 3, 32, 32);
        var whole = backbone.forward(input);
        var split = after.forward(upTo.forward(input));
        Assert.Equal([2L, 16], whole.shape);
        Assert.True(Identical(whole, split));
    }

    [Fact]
    public void Frozen_parameters_are_excluded_from_the_optimizer_and_bit_identical_after_training_steps()
    {
        using var backbone = SmallResNet();
        var (frozen, trainable) = GraphSurgery.FreezeUpTo(backbone, "layer2.0");
        using var model = GraphSurgery.WithHead(nn.Sequential(("frozen", frozen), ("trainable", trainable)), nn.Linear(16, 2));
        var frozenBefore = Snapshot(frozen);
        var trainableBefore = Snapshot(trainable);

        var optimizer = optim.SGD(model.TrainableParameters(), learningRate: 0.1, momentum: 0.9, weight_decay: 0.01);
        var optimized = optimizer.parameters().Select(p => p.Handle).ToHashSet();
        Assert.NotEmpty(optimized);
        Assert.DoesNotContain(frozen.parameters(), p => optimized.Contains(p.Handle));
        Assert.All(trainable.parameters(), p => Assert.Contains(p.Handle, optimized));

        // Adam over ALL parameters as well: frozen ones get no gradient, so it cannot move them either.
        var everything = optim.Adam(model.parameters(), lr: 0.01);
        using var generator = new Generator().manual_seed(9);
        model.train();
        Assert.False(frozen.training);
        Assert.All(frozen.modules(), module => Assert.False(module.training));
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            var input = randn([8, 3, 32, 32], generator: generator);
            var target = randint(0, 2, [8], generator: generator);
            optimizer.zero_grad();
            everything.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(input), target);
            loss.backward();
            Assert.All(frozen.parameters(), p => Assert.Null(p.grad));
            optimizer.step();
            everything.step();
        }

        foreach (var (name, after) in frozen.state_dict())
            Assert.True(Identical(frozenBefore[name], after), $"frozen {name} changed");
        Assert.Contains(trainable.state_dict(), entry => entry.Key.EndsWith(".weight", StringComparison.Ordinal) && !Identical(trainableBefore[entry.Key], entry.Value));
        // The trainable part's batch norms did learn statistics; the frozen ones kept theirs (checked above).
        Assert.Contains(trainable.state_dict(), entry => entry.Key.EndsWith("running_mean", StringComparison.Ordinal) && !Identical(trainableBefore[entry.Key], entry.Value));
    }

    [Fact]
    public void A_new_head_goes_after_the_cut_and_names_are_checked()
    {
        using var backbone = SmallResNet();
        var features = GraphSurgery.CutAt(backbone, "pool");
        using var classifier = GraphSurgery.WithHead(features, nn.Linear(16, 3), "classifier");
        Assert.Equal("classifier", GraphSurgery.LayerNames(classifier)[^1]);
        using (var scope = NewDisposeScope())
            Assert.Equal([5L, 3], classifier.forward(randn(5, 3, 32, 32)).shape);
        Assert.Throws<ArgumentException>(() => GraphSurgery.WithHead(features, nn.Linear(16, 3), "pool"));
        var error = Assert.Throws<ArgumentException>(() => GraphSurgery.FreezeUpTo(backbone, "layer2.7"));
        Assert.Contains("no layer named 'layer2.7'", error.Message);
    }
}
