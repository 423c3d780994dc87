using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Recipes.Tests.Data;
using Recipes.Tests.Recipes;

namespace Recipes.Tests.ObjectDetection;

/// <summary>Short end-to-end runs of the object-detection recipe as a separate process, as a user would run it.</summary>
public sealed class ObjectDetectionRecipeTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"object-detection-recipe-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    static string RaccoonFolder => Path.GetDirectoryName(SharedSampleData.Find(Path.Combine("raccoon", "train_labels.csv")))!;

    static JsonElement Metrics(string folder) => JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "metrics.json"))).RootElement;

    string[] Quick(string output) => ["--output", output, "--cache", Path.Combine(_folder, "cache"), "--epochs", "1", "--batch-size", "8", "--master", "local[2]"];

    static double MeanAveragePrecisionPrinted(string output) =>
        double.Parse(Regex.Match(output, @"^mAP\s+(\d+\.\d+)", RegexOptions.Multiline).Groups[1].Value, CultureInfo.InvariantCulture);

    [Fact]
    public void Offline_run_trains_on_generated_scenes_and_evaluate_and_predict_use_what_it_wrote()
    {
        string output = Path.Combine(_folder, "offline");
        var run = RecipeProcess.Run("object-detection", [.. Quick(output), "--scenes", "60"], TimeSpan.FromMinutes(8));
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("GENERATED", run.Output);
        Assert.Contains("9,590 default boxes", run.Output);

        var root = Metrics(output);
        Assert.Equal("object-detection", root.GetProperty("recipe").GetString());
        MetricsConvention.AssertFollowed(root);
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        Assert.Equal(48, root.GetProperty("train_images").GetInt32());
        Assert.Equal(6, root.GetProperty("test_images").GetInt32());
        double map = root.GetProperty("metrics").GetProperty("test_map@0.5").GetDouble();
        Assert.InRange(map, 0, 1); // one short epoch teaches little; the Cake target's full run is where the figure is measured
        foreach (string file in new[] { "model.bin", "model.json", "precision-recall.png", "test-predictions.png", "training.png", "predictions/detections.gif", "checkpoint/latest.ckpt" })
            Assert.True(new FileInfo(Path.Combine(output, file)).Length > 0, file);
        Assert.Equal(6, Directory.GetFiles(Path.Combine(output, "test", "ground-truth"), "*.txt").Length);
        Assert.Equal(6, Directory.GetFiles(Path.Combine(output, "test", "detections"), "*.txt").Length);

        // evaluate scores the test set's text files again: the same mAP, up to the text's rounding of coordinates.
        var evaluate = RecipeProcess.Run("object-detection", ["evaluate", "--ground-truth", Path.Combine(output, "test", "ground-truth"),
            "--detections", Path.Combine(output, "test", "detections")]);
        Assert.True(evaluate.ExitCode == 0, evaluate.Output + evaluate.Errors);
        Assert.Equal(map, MeanAveragePrecisionPrinted(evaluate.Output), 2);

        // predict: a folder of frames -> annotated images, the GIF and one detection text file per image.
        string frames = Path.Combine(_folder, "frames");
        Directory.CreateDirectory(frames);
        foreach (string image in Directory.GetFiles(Path.Combine(_folder, "cache"), "*.jpg", SearchOption.AllDirectories).Order().Take(3))
            File.Copy(image, Path.Combine(frames, Path.GetFileName(image)));
        File.WriteAllText(Path.Combine(frames, "broken.jpg"), "not a picture");
        string predicted = Path.Combine(_folder, "predicted");
        var predict = RecipeProcess.Run("object-detection", ["predict", "--model", Path.Combine(output, "model.bin"), "--images", frames, "--output", predicted, "--threshold", "0.2"]);
        Assert.True(predict.ExitCode == 0, predict.Output + predict.Errors);
        Assert.Contains("3 images", predict.Output);
        Assert.Contains("1 skipped", predict.Output);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(predicted, "predict"), "*.jpg").Length);
        Assert.True(new FileInfo(Path.Combine(predicted, "predict", "detections.gif")).Length > 0);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(predicted, "predict", "detections"), "*.txt").Length);
    }

    [Fact]
    public void The_raccoon_set_trains_on_its_160_listed_images_and_is_tested_on_its_40()
    {
        string output = Path.Combine(_folder, "raccoon");
        var run = RecipeProcess.Run("object-detection", [.. Quick(output), "--data", RaccoonFolder, "--max-samples", "16"], TimeSpan.FromMinutes(8));
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        var root = Metrics(output);
        Assert.Equal("local", root.GetProperty("data_source").GetString());
        Assert.Equal(16, root.GetProperty("train_images").GetInt32());
        Assert.Equal(16, root.GetProperty("validation_images").GetInt32()); // 10% of the 160 training images
        Assert.Equal(40, root.GetProperty("test_images").GetInt32());
        Assert.InRange(root.GetProperty("metrics").GetProperty("test_ap@0.5_raccoon").GetDouble(), 0, 1);
    }

    [Fact]
    public void A_malformed_annotation_ends_the_run_naming_it_unless_bad_files_are_skipped()
    {
        string data = Path.Combine(_folder, "broken");
        Directory.CreateDirectory(data);
        foreach (string xml in Directory.GetFiles(Path.Combine(RaccoonFolder, "annotations"), "*.xml").Order().Take(12))
        {
            File.Copy(xml, Path.Combine(data, Path.GetFileName(xml)));
            string image = Path.Combine(RaccoonFolder, "images", Path.GetFileNameWithoutExtension(xml) + ".jpg");
            File.Copy(image, Path.Combine(data, Path.GetFileName(image)));
        }
        string victim = Directory.GetFiles(data, "*.xml").Order().First();
        File.WriteAllText(victim, "<annotation><size><width>10</wid");

        var run = RecipeProcess.Run("object-detection", [.. Quick(Path.Combine(_folder, "out")), "--data", data]);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: ", run.Errors.Trim());
        Assert.Contains(Path.GetFileName(victim), run.Errors);

        var skipping = RecipeProcess.Run("object-detection", [.. Quick(Path.Combine(_folder, "skipping")), "--data", data, "--skip-bad"], TimeSpan.FromMinutes(8));
        Assert.True(skipping.ExitCode == 0, skipping.Output + skipping.Errors);
        Assert.Equal(1, Metrics(Path.Combine(_folder, "skipping")).GetProperty("skipped_files").GetInt32());
    }

    [Fact]
    public void An_image_size_the_backbone_cannot_take_is_a_clear_error()
    {
        var size = RecipeProcess.Run("object-detection", [.. Quick(Path.Combine(_folder, "size")), "--image-size", "300"]);
        Assert.Equal(1, size.ExitCode);
        Assert.Contains("--image-size 300", size.Errors);
    }
}
