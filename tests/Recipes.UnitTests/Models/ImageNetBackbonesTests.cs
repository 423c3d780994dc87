using Recipes.Runtime.Data;
using Recipes.Runtime.Models;
using Recipes.Runtime.Models.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.Models;

[Collection(ProcessWideState.Name)] // seeds libtorch's generator for its networks' weights
public sealed class ImageNetBackbonesTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("backbones-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static long Parameters(nn.Module module) => module.parameters().Sum(p => p.numel());

    static bool Identical(Tensor first, Tensor second)
    {
        if (!first.shape.SequenceEqual(second.shape)) return false;
        using var equalElements = first.eq(second);
        using var all = equalElements.all();
        return all.item<bool>();
    }

    static Tensor Forward(ImageBackbone backbone, Tensor images)
    {
        backbone.Features.eval();
        using var noGrad = no_grad();
        return backbone.Features.forward(images);
    }

    static DenseNetAndFile SavedDenseNet(string path, int seed)
    {
        torch.random.manual_seed(seed);
        var backbone = ImageNetBackbones.DenseNet121();
        // One training-mode batch moves the running statistics off their initial 0 and 1, so the round trip
        // checks the buffers as well as the weights.
        backbone.Features.train();
        using (no_grad()) backbone.Features.forward(randn(2, 3, 64, 64)).Dispose();
        backbone.Features.eval();
        ModelWeightsFile.Save(path, backbone.Features);
        return new DenseNetAndFile(backbone, path);
    }

    sealed record DenseNetAndFile(ImageBackbone Backbone, string Path);

    static void WriteStateDict(string path, Dictionary<string, Tensor> entries)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        nn.Module.save_state_dict(writer, entries);
    }

    [Fact]
    public void DenseNet121_has_torchvisions_feature_parameters_and_names_and_a_1024_channel_map_at_a_32nd_of_the_input()
    {
        torch.random.manual_seed(1);
        var backbone = ImageNetBackbones.DenseNet121();
        using var features = backbone.Features;
        // torchvision densenet121 has 7,978,856 parameters; its classifier Linear(1024, 1000) has 1,025,000.
        Assert.Equal(6_953_856, Parameters(features));
        Assert.Equal(1024, backbone.Channels);
        Assert.StartsWith("DenseNet-121", backbone.Description);

        var names = features.state_dict().Keys.ToHashSet();
        // torchvision's state_dict has 727 entries, 725 without classifier.weight and .bias: 120 convolutions and
        // 121 batch norms with weight, bias, running_mean, running_var and num_batches_tracked.
        Assert.Equal(120 + 121 * 5, names.Count);
        Assert.Contains("features.conv0.weight", names);
        Assert.Contains("features.norm0.running_mean", names);
        Assert.Contains("features.denseblock1.denselayer1.norm1.weight", names);
        Assert.Contains("features.denseblock3.denselayer24.conv2.weight", names);
        Assert.Contains("features.denseblock4.denselayer16.conv1.weight", names);
        Assert.Contains("features.transition3.conv.weight", names);
        Assert.Contains("features.transition1.norm.running_var", names);
        Assert.Contains("features.norm5.bias", names);
        Assert.DoesNotContain("features.denseblock4.denselayer17.conv1.weight", names);
        Assert.DoesNotContain(names, name => name.StartsWith("classifier", StringComparison.Ordinal));
        // Each dense layer widens its input by 32 channels: layer 24 of block 3 reads 256 + 23 * 32.
        Assert.Equal([128L, 992, 1, 1], features.state_dict()["features.denseblock3.denselayer24.conv1.weight"].shape);

        using var scope = NewDisposeScope();
        var map = Forward(backbone, randn(2, 3, 224, 224));
        Assert.Equal([2L, 1024, 7, 7], map.shape);
        // It ends with norm5 and a ReLU: non-negative, and not dead.
        Assert.True(map.min().item<float>() >= 0);
        Assert.True(map.gt(0).to_type(ScalarType.Float32).mean().item<float>() > 0.2f);
    }

    [Fact]
    public void ResNet50_has_torchvisions_parameters_and_names_without_the_classifier_and_a_2048_channel_map()
    {
        torch.random.manual_seed(1);
        var backbone = ImageNetBackbones.ResNet50();
        using var features = backbone.Features;
        // torchvision resnet50 has 25,557,032 parameters; its fc Linear(2048, 1000) has 2,049,000.
        Assert.Equal(23_508_032, Parameters(features));
        Assert.Equal(2048, backbone.Channels);
        Assert.StartsWith("ResNet-50", backbone.Description);

        var state = features.state_dict();
        // torchvision's state_dict has 320 entries, 318 without fc.weight and fc.bias: 53 convolutions, 53 batch norms.
        Assert.Equal(53 + 53 * 5, state.Count);
        foreach (var name in new[] { "conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.0.downsample.0.weight",
                     "layer1.0.downsample.1.running_mean", "layer2.3.bn3.bias", "layer3.5.conv2.weight", "layer4.2.conv3.weight" })
            Assert.True(state.ContainsKey(name), $"{name} is missing");
        Assert.False(state.ContainsKey("layer1.1.downsample.0.weight"), "only the first block of a stage projects its shortcut");
        Assert.False(state.ContainsKey("layer4.3.conv1.weight"));
        Assert.DoesNotContain(state.Keys, name => name.StartsWith("fc.", StringComparison.Ordinal));
        // v1.5: the stride is on the 3x3 convolution, and layer2.0 starts from layer1's 256 channels.
        Assert.Equal([128L, 256, 1, 1], state["layer2.0.conv1.weight"].shape);
        Assert.Equal([512L, 256, 1, 1], state["layer2.0.downsample.0.weight"].shape);
        Assert.Equal([2048L, 512, 1, 1], state["layer4.2.conv3.weight"].shape);

        using var scope = NewDisposeScope();
        var map = Forward(backbone, randn(2, 3, 224, 224));
        Assert.Equal([2L, 2048, 7, 7], map.shape);
        Assert.True(map.min().item<float>() >= 0);
        Assert.True(map.gt(0).to_type(ScalarType.Float32).mean().item<float>() > 0.2f);
        // The stride sits on the 3x3 convolution: an odd input size still gives ceil(size / 32).
        var odd = Forward(backbone, randn(1, 3, 100, 100));
        Assert.Equal([1L, 2048, 4, 4], odd.shape);
    }

    [Fact]
    public void Weights_start_as_torchvision_initialises_them_kaiming_normal_convolutions_and_unit_batch_norms()
    {
        torch.random.manual_seed(2);
        var resNet = ImageNetBackbones.ResNet50();
        using (resNet.Features)
        {
            var state = resNet.Features.state_dict();
            // ResNet: kaiming normal over fan out, gain sqrt(2): std sqrt(2 / 2048) for a 1x1 convolution 512 -> 2048
            // (over fan in it would be twice that).
            var weight = state["layer4.1.conv3.weight"];
            Assert.Equal(Math.Sqrt(2.0 / 2048), weight.std().item<float>(), 0.0005);
            Assert.Equal(0, weight.mean().item<float>(), 0.0005);
            Assert.True(state["layer3.2.bn2.weight"].eq(1).all().item<bool>());
            Assert.True(state["layer3.2.bn2.bias"].eq(0).all().item<bool>());
        }

        torch.random.manual_seed(2);
        var denseNet = ImageNetBackbones.DenseNet121();
        using var denseNetFeatures = denseNet.Features;
        var denseState = denseNetFeatures.state_dict();
        // DenseNet: kaiming normal over fan in: std sqrt(2 / (128 * 3 * 3)) for a dense layer's 3x3 convolution
        // 128 -> 32 (over fan out it would be twice that).
        Assert.Equal(Math.Sqrt(2.0 / (128 * 9)), denseState["features.denseblock2.denselayer5.conv2.weight"].std().item<float>(), 0.0005);
        Assert.True(denseState["features.norm5.weight"].eq(1).all().item<bool>());

        // Seeded: the same seed gives the same weights.
        torch.random.manual_seed(2);
        using var again = ImageNetBackbones.DenseNet121().Features;
        Assert.True(Identical(again.state_dict()["features.conv0.weight"], denseState["features.conv0.weight"]));
    }

    [Fact]
    public void Saved_weights_load_back_through_LoadWeights_and_give_identical_feature_maps()
    {
        var saved = SavedDenseNet(Path.Combine(_folder, "densenet.bin"), seed: 3);
        using var source = saved.Backbone.Features;
        torch.random.manual_seed(4);
        var target = ImageNetBackbones.DenseNet121();
        using var targetFeatures = target.Features;

        using var scope = NewDisposeScope();
        var images = randn(2, 3, 64, 64);
        var expected = Forward(saved.Backbone, images);
        Assert.False(Forward(target, images).allclose(expected), "two seeds should give different networks");

        var (loaded, ignored) = ImageNetBackbones.LoadWeights(target, saved.Path);

        Assert.Equal(source.state_dict().Count, loaded);
        Assert.Equal(0, ignored);
        Assert.True(Identical(Forward(target, images), expected));
        Assert.True(Identical(targetFeatures.state_dict()["features.norm0.running_mean"], source.state_dict()["features.norm0.running_mean"]));
        Assert.True(targetFeatures.state_dict()["features.norm0.running_mean"].abs().max().item<float>() > 0);
    }

    [Fact]
    public void A_file_with_a_classifier_loads_the_backbone_and_counts_the_classifier_as_ignored()
    {
        torch.random.manual_seed(5);
        var backbone = ImageNetBackbones.DenseNet121();
        using var features = backbone.Features;
        var entries = new Dictionary<string, Tensor>(features.state_dict()) { ["classifier.weight"] = randn(1000, 1024) };
        string path = Path.Combine(_folder, "with-classifier.bin");
        WriteStateDict(path, entries);

        torch.random.manual_seed(6);
        var target = ImageNetBackbones.DenseNet121();
        using var targetFeatures = target.Features;
        var (loaded, ignored) = ImageNetBackbones.LoadWeights(target, path);

        Assert.Equal(entries.Count - 1, loaded);
        Assert.Equal(1, ignored);
        Assert.True(Identical(targetFeatures.state_dict()["features.denseblock4.denselayer16.conv2.weight"],
            features.state_dict()["features.denseblock4.denselayer16.conv2.weight"]));
    }

    [Fact]
    public void Weights_in_float64_are_converted_to_the_backbones_float32()
    {
        torch.random.manual_seed(7);
        var backbone = ImageNetBackbones.DenseNet121();
        using var features = backbone.Features;
        var entries = features.state_dict().ToDictionary(entry => entry.Key,
            entry => entry.Value.is_floating_point() ? entry.Value.to_type(ScalarType.Float64) : entry.Value);
        string path = Path.Combine(_folder, "float64.bin");
        WriteStateDict(path, entries);

        torch.random.manual_seed(8);
        var target = ImageNetBackbones.DenseNet121();
        using var targetFeatures = target.Features;
        ImageNetBackbones.LoadWeights(target, path);

        var weight = targetFeatures.state_dict()["features.transition2.conv.weight"];
        Assert.Equal(ScalarType.Float32, weight.dtype);
        Assert.True(Identical(weight, features.state_dict()["features.transition2.conv.weight"]));
    }

    [Fact]
    public void A_file_missing_a_tensor_is_refused_naming_it_and_the_backbone_is_left_unchanged()
    {
        torch.random.manual_seed(9);
        var backbone = ImageNetBackbones.DenseNet121();
        using var features = backbone.Features;
        string path = Path.Combine(_folder, "missing.bin");
        var entries = new Dictionary<string, Tensor>(features.state_dict());
        entries.Remove("features.denseblock2.denselayer7.norm2.running_var");
        WriteStateDict(path, entries);

        torch.random.manual_seed(10);
        var target = ImageNetBackbones.DenseNet121();
        using var targetFeatures = target.Features;
        using var before = targetFeatures.state_dict()["features.conv0.weight"].clone();

        var error = Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(target, path));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("1 of its", error.Message);
        Assert.Contains("features.denseblock2.denselayer7.norm2.running_var", error.Message);
        Assert.Contains("DenseNet-121", error.Message);
        // Checked before copying: nothing of the file went into the backbone.
        Assert.True(Identical(targetFeatures.state_dict()["features.conv0.weight"], before));
    }

    [Fact]
    public void A_file_with_a_tensor_of_another_shape_is_refused_naming_it_and_both_shapes()
    {
        torch.random.manual_seed(11);
        var backbone = ImageNetBackbones.DenseNet121();
        using var features = backbone.Features;
        string path = Path.Combine(_folder, "wrong-shape.bin");
        var entries = new Dictionary<string, Tensor>(features.state_dict()) { ["features.conv0.weight"] = randn(64, 3, 3, 3) };
        WriteStateDict(path, entries);

        var error = Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(backbone, path));

        Assert.Contains("features.conv0.weight is [64, 3, 3, 3] in the file, [64, 3, 7, 7] in the backbone", error.Message);
    }

    [Fact]
    public void Weights_of_another_network_are_refused_saying_that_no_name_matches()
    {
        string path = Path.Combine(_folder, "linear.bin");
        using (var linear = nn.Linear(4, 2)) ModelWeightsFile.Save(path, linear);
        torch.random.manual_seed(12);
        var backbone = ImageNetBackbones.ResNet50();
        using var features = backbone.Features;

        var error = Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(backbone, path));

        Assert.Contains($"{features.state_dict().Count} of its {features.state_dict().Count} tensors missing: conv1.weight", error.Message);
        Assert.Contains("none of the backbone's names is in the file, whose first names are weight, bias", error.Message);
    }

    [Fact]
    public void Truncated_garbage_and_absent_files_give_a_clear_error_naming_the_file()
    {
        var saved = SavedDenseNet(Path.Combine(_folder, "whole.bin"), seed: 13);
        using var features = saved.Backbone.Features;
        byte[] whole = File.ReadAllBytes(saved.Path);

        string truncated = Path.Combine(_folder, "truncated.bin");
        File.WriteAllBytes(truncated, whole[..(whole.Length / 2)]);
        var error = Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(saved.Backbone, truncated));
        Assert.Equal(truncated, error.FilePath);
        Assert.StartsWith("truncated", error.Problem);
        Assert.Matches(@"entry \d+ of \d+ \('features\.[a-z0-9_.]+'\)", error.Problem);

        // Cut inside the second entry's name: the first entry is the count (2 bytes), the name (1 + 21 bytes),
        // type and rank (1 + 1), the shape 64x3x7x7 (4 x 1 byte), then 9,408 floats.
        File.WriteAllBytes(truncated, whole[..(2 + 22 + 2 + 4 + 9408 * 4 + 5)]);
        Assert.StartsWith("truncated in the name of entry 2 of", Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(saved.Backbone, truncated)).Problem);
        File.WriteAllBytes(truncated, whole[..5]);
        Assert.Contains("more than its 5 bytes can hold (truncated", Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(saved.Backbone, truncated)).Problem);

        string longer = Path.Combine(_folder, "longer.bin");
        File.WriteAllBytes(longer, [.. whole, 1, 2, 3]);
        Assert.Contains("3 unexpected bytes after the last", Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(saved.Backbone, longer)).Message);

        string text = Path.Combine(_folder, "weights.txt");
        File.WriteAllText(text, "these are not weights\n");
        Assert.Contains("not a TorchSharp weights file", Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(saved.Backbone, text)).Message);

        string absent = Path.Combine(_folder, "absent.bin");
        Assert.Equal(absent, Assert.Throws<DataFileException>(() => ImageNetBackbones.LoadWeights(saved.Backbone, absent)).FilePath);
    }
}
