using System.Text.Json;
using Recipes.Tests.Models;
using Recipes.Tests.Vision;

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
    public void Odd_shapes_train_and_a_corrupt_test_picture_is_skipped_not_replaced()
    {
        // A 1000x200 JPEG once stopped the run ("is 1x224 after the transforms"), and a corrupt test picture was
        // validated as its neighbour (24 validation images against 23 tested). Both are handled now.
        string data = Path.Combine(_folder, "odd");
        for (int i = 0; i < 6; i++)
        {
            OddImages.Write(Path.Combine(data, "train", "stripes", $"s{i}.jpg"), 320, 240, 0, shift: 7 * i);
            OddImages.Write(Path.Combine(data, "train", "checks", $"c{i}.jpg"), 300, 260, 1, shift: 7 * i);
        }
        OddImages.Write(Path.Combine(data, "train", "stripes", "wide.jpg"), 1000, 200, 0);
        OddImages.Write(Path.Combine(data, "train", "checks", "icon.png"), 1, 1, 1);
        for (int i = 0; i < 3; i++)
        {
            OddImages.Write(Path.Combine(data, "test", "stripes", $"s{i}.jpg"), 280, 250, 0, shift: 5 * i);
            OddImages.Write(Path.Combine(data, "test", "checks", $"c{i}.jpg"), 250, 280, 1, shift: 5 * i);
        }
        OddImages.Write(Path.Combine(data, "test", "checks", "tall.jpg"), 200, 1000, 1);
        string corrupt = OddImages.WriteCorrupt(Path.Combine(data, "test", "stripes", "cut.jpg"));

        string output = Path.Combine(_folder, "odd-out");
        var run = RecipeProcess.Run("transfer-learning", ["--data", data, "--output", output, "--epochs", "1", "--batch-size", "8"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains($"skipped {corrupt}", run.Output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal(1, root.GetProperty("skipped_images").GetInt32());
        // The confusion table of the test evaluation counts the 7 decodable test pictures, the panorama among them.
        int tested = root.GetProperty("confusion").EnumerateArray().Sum(row => row.EnumerateArray().Sum(cell => (int)cell.GetDouble()));
        Assert.Equal(7, tested);
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
