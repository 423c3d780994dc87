using Recipes.Runtime.Models.Backbones;
using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Models.Surgery;
using Recipes.Runtime.Vision;
using Recipes.Xray;
using static TorchSharp.torch;

namespace Recipes.Tests.Xray;

[Collection(ProcessWideState.Name)] // seeds libtorch's generator for its networks' weights
public sealed class ChestXrayNetworkTests
{
    /// <summary>A small ResNet (one block per stage, narrow) with the recipe's head: the same code paths as ResNet-18, in milliseconds.</summary>
    static ChestXrayNetwork SmallNetwork(int seed, long dropoutStream = 0)
    {
        random.manual_seed(seed).Dispose();
        var layout = ResNetLayout.Create([1, 1, 1, 1], [8, 8, 16, 16]);
        var stages = GraphSurgery.CutAt(ResNetBackbone.Build(layout), "layer4");
        var normalisation = new InputNormalisation([2, 1, 0], full(1, 3, 1, 1, 120f), full(1, 1, 1, 1, 1 / 60f));
        return new ChestXrayNetwork(normalisation, stages, 16, ChestXrayFindings.Count, dropoutStream: dropoutStream);
    }

    static Tensor Images(int count, int seed)
    {
        using var generator = new Generator().manual_seed(seed);
        return rand([count, 3, 64, 64], generator: generator) * 255;
    }

    [Fact]
    public void Each_class_activation_map_averages_to_its_logit()
    {
        using var network = SmallNetwork(1);
        network.eval();
        using var images = Images(3, 2);
        using var noGrad = no_grad();
        using var logits = network.forward(images);
        var (mapLogits, maps) = network.ForwardWithMaps(images);
        using (mapLogits)
        using (maps)
        {
            Assert.Equal(new long[] { 3, 14, 2, 2 }, maps.shape); // 64 px / 32
            Assert.True(logits.allclose(mapLogits, rtol: 1e-4, atol: 1e-5));
            using var means = maps.mean([2, 3]);
            Assert.True(means.allclose(logits, rtol: 1e-4, atol: 1e-5));
        }
    }

    [Fact]
    public void Dropout_masks_come_from_the_replicas_own_stream_not_from_libtorchs_global_generator()
    {
        // With --master local[N] the N replicas run their forward passes on N threads at once: masks drawn from
        // libtorch's one global generator would go to whichever thread drew first, and the same command would
        // train a different model each time (seen: the quick run's test AUC moved by up to 0.06).
        using var images = Images(4, 3);
        Tensor TrainingOutput(long stream, int globalSeed)
        {
            using var network = SmallNetwork(1, stream);
            network.train();
            random.manual_seed(globalSeed).Dispose();
            using var noGrad = no_grad();
            return network.forward(images);
        }
        using var first = TrainingOutput(stream: 5, globalSeed: 10);
        using var sameStreamOtherGlobalSeed = TrainingOutput(stream: 5, globalSeed: 11);
        using var otherReplica = TrainingOutput(stream: 6, globalSeed: 10);
        Assert.True(first.eq(sameStreamOtherGlobalSeed).all().item<bool>(), "the masks depend on libtorch's global generator");
        Assert.False(first.allclose(otherReplica), "two replicas drew the same masks");
    }

    [Fact]
    public void Frozen_stages_get_no_gradients_and_keep_batch_norm_in_evaluation_mode()
    {
        using var network = SmallNetwork(3).FreezeUpTo("layer2");
        Assert.Equal("layer2", network.LastFrozenStage);
        network.train();
        using var images = Images(4, 4);
        using var loss = network.forward(images).sum();
        loss.backward();
        foreach (var (name, parameter) in network.named_parameters())
        {
            bool frozen = name.StartsWith("features.stem", StringComparison.Ordinal) || name.StartsWith("features.layer1", StringComparison.Ordinal)
                          || name.StartsWith("features.layer2", StringComparison.Ordinal);
            Assert.Equal(!frozen, parameter.requires_grad);
            Assert.Equal(frozen, parameter.grad is null);
        }
        foreach (var (name, module) in network.named_modules())
            if (name.StartsWith("features.layer2", StringComparison.Ordinal)) Assert.False(module.training, name);
            else if (name.StartsWith("features.layer3", StringComparison.Ordinal)) Assert.True(module.training, name);
        Assert.Throws<ArgumentException>(() => SmallNetwork(3).FreezeUpTo("layer9"));
    }

    [Fact]
    public void The_heat_scale_runs_from_dark_blue_through_green_to_dark_red()
    {
        // The "jet" scale: each channel a tent of height 1.5 clipped to 1, centred at 0.25 (blue), 0.5 (green), 0.75 (red).
        Assert.Equal((0f, 0f, 127.5f), ClassActivationMaps.HeatColour(0));
        Assert.Equal((0f, 127.5f, 255f), ClassActivationMaps.HeatColour(0.25f));
        Assert.Equal((127.5f, 255f, 127.5f), ClassActivationMaps.HeatColour(0.5f));
        Assert.Equal((255f, 127.5f, 0f), ClassActivationMaps.HeatColour(0.75f));
        Assert.Equal((127.5f, 0f, 0f), ClassActivationMaps.HeatColour(1));
        Assert.Equal(ClassActivationMaps.HeatColour(1), ClassActivationMaps.HeatColour(7)); // clamped
    }

    [Fact]
    public void A_peak_is_checked_against_the_lesion_box_mapped_through_resize_and_crop()
    {
        // A 256x256 source resized to 128 and centre-cropped to 96: source (100..140, 60..80) lands at (34..54, 14..24).
        var frame = new ImageChain([new Resize(128, 128), new CenterCrop(96, 96)]).Apply(RgbFrame.Filled(256, 256, 0, 0, 0), 1);
        var values = new float[96 * 96];
        values[20 * 96 + 40] = 1; // peak at x 40, y 20
        var map = new ActivationMap("Nodule", 0.9f, values, 96, 96);
        Assert.Equal((40, 20), map.Peak);
        Assert.True(ClassActivationMaps.PeakInside(map, frame, new PixelBox(100, 60, 140, 80), margin: 0));
        Assert.False(ClassActivationMaps.PeakInside(map, frame, new PixelBox(150, 60, 190, 80), margin: 0));
        Assert.True(ClassActivationMaps.PeakInside(map, frame, new PixelBox(150, 60, 190, 80), margin: 20)); // box starts at x 59
    }
}
