using System.Text.Json;
using Recipes.ImageSimilarity;
using Recipes.Tests.Vision;

namespace Recipes.Tests.Recipes;

/// <summary>Short runs of the image-similarity recipe as a separate process.</summary>
public sealed class ImageSimilarityRecipeTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"similarity-recipe-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Offline_run_indexes_generated_textures_measures_precision_and_writes_a_reloadable_index()
    {
        string output = Path.Combine(_folder, "offline");
        var run = RecipeProcess.Run("image-similarity", ["--output", output, "--max-samples", "30", "--top", "3", "--fine-tune", "--epochs", "5"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("GENERATED", run.Output);

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        MetricsConvention.AssertFollowed(root);
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        double precision1 = root.GetProperty("metrics").GetProperty("precision@1").GetDouble();
        Assert.True(precision1 >= 0.8, $"precision@1 {precision1}: textures should be each other's neighbours");
        Assert.True(root.GetProperty("metrics").TryGetProperty("precision@3_with_class_bonus", out _));

        var index = ImageFeatureIndex.Load(Path.Combine(output, "index.bin"));
        Assert.Equal(30, index.Count);
        Assert.Equal(512, index.Dimension);
        Assert.Equal(["spots", "stripes"], index.ClassNames);
        Assert.True(new FileInfo(Path.Combine(output, "similar.png")).Length > 0);
    }

    [Fact]
    public void A_scraped_folder_with_panoramas_portrait_strips_and_icons_is_indexed_whole()
    {
        // A 1000x200 JPEG among the pictures once ended the run with libtorch's "stack expects each tensor to
        // be equal size". Every decodable picture is indexed now; a 1x5000 strip is skipped with its reason.
        string data = Path.Combine(_folder, "scraped");
        for (int i = 0; i < 3; i++)
        {
            OddImages.Write(Path.Combine(data, "stripes", $"s{i}.jpg"), 320, 240, 0, shift: 10 * i);
            OddImages.Write(Path.Combine(data, "checks", $"c{i}.jpg"), 300, 260, 1, shift: 10 * i);
        }
        OddImages.Write(Path.Combine(data, "stripes", "wide.jpg"), 1000, 200, 0);
        OddImages.Write(Path.Combine(data, "checks", "tall.jpg"), 200, 1000, 1);
        OddImages.Write(Path.Combine(data, "checks", "icon.png"), 1, 1, 1);
        OddImages.Write(Path.Combine(data, "stripes", "strip.png"), 5000, 1, 0);

        string output = Path.Combine(_folder, "scraped-out");
        var run = RecipeProcess.Run("image-similarity", ["--data", data, "--output", output, "--top", "2"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("strip.png: 5000x1 pixels", run.Output);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        MetricsConvention.AssertFollowed(root);
        Assert.Equal(9, root.GetProperty("indexed_images").GetInt32());
        Assert.Equal(1, root.GetProperty("skipped_images").GetInt32());
        Assert.InRange(root.GetProperty("metrics").GetProperty("precision@1").GetDouble(), 0, 1);
    }

    [Fact]
    public void A_query_that_is_not_an_image_file_ends_with_one_line_naming_it()
    {
        string missing = Path.Combine(_folder, "nope.jpg");
        var run = RecipeProcess.Run("image-similarity", ["--output", Path.Combine(_folder, "out"), "--max-samples", "6", "--query", missing]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"{missing}: no such image file", run.Errors + run.Output);
    }
}
