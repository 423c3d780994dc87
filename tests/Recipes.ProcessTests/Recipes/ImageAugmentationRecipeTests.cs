using System.Text.Json;
using Recipes.Tests.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.Recipes;

/// <summary>Runs of the image-augmentation recipe as a separate process (a few seconds each).</summary>
public sealed class ImageAugmentationRecipeTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("image-augmentation-recipe-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static JsonElement Operation(JsonElement root, string name) =>
        root.GetProperty("operations").EnumerateArray().Single(op => op.GetProperty("op").GetString() == name);

    [Fact]
    public void Offline_run_augments_a_generated_scene_with_every_op_and_writes_the_sheet_and_table()
    {
        string output = Path.Combine(_folder, "offline");
        var run = RecipeProcess.Run("image-augmentation", ["--output", output, "--offline", "--repeats", "3"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("GENERATED", run.Output);
        Assert.Contains("CenterCrop(", run.Output); // the console table
        Assert.Contains("200x200", run.Output);

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        MetricsConvention.AssertFollowed(root);
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        Assert.Equal(19, root.GetProperty("operations").GetArrayLength());
        Assert.Equal(19, root.GetProperty("metrics").GetProperty("operations").GetDouble());
        var crop = Operation(root, "CenterCrop(200, 200)");
        Assert.Equal((200, 200), (crop.GetProperty("width").GetInt32(), crop.GetProperty("height").GetInt32()));
        Assert.Equal("center crop 200x200 at (150, 87)", crop.GetProperty("did").GetString());
        var resize = Operation(root, "Resize(300, 300)");
        Assert.Equal((300, 300), (resize.GetProperty("width").GetInt32(), resize.GetProperty("height").GetInt32()));
        var normalised = Operation(root, "ChannelNormalise(123.675/116.28/103.53, 58.395/57.12/57.375)");
        Assert.InRange(normalised.GetProperty("min").GetDouble(), -2.2, -2.0); // black: -0.485/0.229 = -2.12
        Assert.Equal(3, root.GetProperty("training_views").GetArrayLength());
        Assert.Equal([1, 3, 224, 224], root.GetProperty("loader_batch_shape").EnumerateArray().Select(d => d.GetInt32()));

        using var sheet = Image.Load<Rgb24>(Path.Combine(output, "contact-sheet.png"));
        Assert.True(sheet.Width > 1500 && sheet.Height > 1500, $"contact sheet is {sheet.Width}x{sheet.Height}");
    }

    [Fact]
    public void A_folder_with_hostile_files_is_processed_and_the_bad_files_are_named()
    {
        string pictures = Path.Combine(_folder, "pictures", "scenes");
        Directory.CreateDirectory(pictures);
        for (int i = 0; i < 3; i++)
        {
            using var image = new Image<Rgb24>(320 + 10 * i, 240, new Rgb24((byte)(60 * i), 120, 200));
            image.SaveAsJpeg(Path.Combine(pictures, $"good{i}.jpg"));
        }
        byte[] jpeg = File.ReadAllBytes(Path.Combine(pictures, "good0.jpg"));
        File.WriteAllBytes(Path.Combine(pictures, "cut.jpg"), jpeg[..(jpeg.Length / 2)]);
        File.WriteAllBytes(Path.Combine(pictures, "bomb.png"), TestFrames.PngDeclaring(100_000, 100_000));

        string output = Path.Combine(_folder, "folder");
        var run = RecipeProcess.Run("image-augmentation", ["--output", output, "--folder", Path.Combine(_folder, "pictures"), "--batch-size", "2", "--repeats", "2"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal("local", root.GetProperty("data_source").GetString());
        Assert.Equal(3, root.GetProperty("metrics").GetProperty("loader_images").GetDouble());
        Assert.Equal(2, root.GetProperty("metrics").GetProperty("skipped_images").GetDouble());
        var skipped = root.GetProperty("skipped").EnumerateArray().ToDictionary(item => Path.GetFileName(item.GetProperty("file").GetString()!), item => item.GetProperty("problem").GetString()!);
        Assert.StartsWith("PNG header declares 100000x100000", skipped["bomb.png"]);
        Assert.StartsWith("truncated JPEG", skipped["cut.jpg"]);
        Assert.Contains("bomb.png", run.Output);
    }

    [Fact]
    public void A_missing_picture_ends_in_one_line_naming_it_and_exit_code_1()
    {
        string missing = Path.Combine(_folder, "nowhere.jpg");
        var run = RecipeProcess.Run("image-augmentation", ["--output", Path.Combine(_folder, "out"), "--image", missing]);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {missing}: no such image file", run.Errors.Trim());
    }
}
