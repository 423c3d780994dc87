using System.Text.Json;
using Recipes.Tests.Models;

namespace Recipes.Tests.Recipes;

/// <summary>Short runs of the transfer-learning recipe as a separate process.</summary>
public sealed class TransferLearningRecipeTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"transfer-recipe-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Fine_tunes_on_the_cats_dogs_sample_or_generated_textures_and_writes_every_result()
    {
        string output = Path.Combine(_folder, "run");
        string[] data = SamplePhotos.CatsDogsFolder is { } folder ? ["--data", folder] : [];
        var run = RecipeProcess.Run("transfer-learning",
            [.. data, "--output", output, "--epochs", "2", "--batch-size", "8", "--max-samples", "16", "--master", "local[2]"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("Confusion table", run.Output);

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        MetricsConvention.AssertFollowed(root);
        Assert.Equal("transfer-learning", root.GetProperty("recipe").GetString());
        Assert.Equal(16, root.GetProperty("train_images").GetInt32());
        Assert.Equal("layer4.1", root.GetProperty("freeze_up_to").GetString());
        double accuracy = root.GetProperty("metrics").GetProperty("test_accuracy").GetDouble();
        Assert.True(accuracy > 0.6, $"test accuracy {accuracy} from 16 images with ImageNet features");
        foreach (string file in new[] { "training.png", "predictions.png", "model.bin", "model.json" })
            Assert.True(new FileInfo(Path.Combine(output, file)).Length > 0, file);
    }

    [Fact]
    public void Bad_input_ends_with_one_line_naming_the_problem()
    {
        string empty = Path.Combine(_folder, "empty");
        Directory.CreateDirectory(empty);
        var noImages = RecipeProcess.Run("transfer-learning", ["--data", empty, "--output", Path.Combine(_folder, "out")]);
        Assert.Equal(1, noImages.ExitCode);
        Assert.Contains($"{empty}: no image files", noImages.Errors + noImages.Output);

        var badLayer = RecipeProcess.Run("transfer-learning", ["--freeze-up-to", "layer9", "--output", Path.Combine(_folder, "out2"), "--epochs", "1"]);
        Assert.Equal(1, badLayer.ExitCode);
        Assert.Contains("no layer named 'layer9' to freeze up to", badLayer.Errors + badLayer.Output);
    }
}
