using System.Text.Json;
using System.Text.RegularExpressions;
using Recipes.Runtime.Recipes;
using Recipes.Tests.Data;
using Recipes.Tests.Recipes;
using Recipes.Xray;

namespace Recipes.Tests.Xray;

/// <summary>Short end-to-end runs of the xray recipe as a separate process, as a user would run it.</summary>
public sealed class XrayRecipeTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"xray-recipe-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    static string StarterFolder => Path.GetDirectoryName(SharedSampleData.Find(Path.Combine("chestxray14-starter", "Data_Entry_2017_v2020_labels.csv")))!;

    static JsonElement Metrics(string folder) => JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "metrics.json"))).RootElement;

    string[] Quick(string output) => ["--output", output, "--cache", Path.Combine(_folder, "cache"), "--epochs", "1", "--batch-size", "8", "--master", "local[2]"];

    [Fact]
    public void Offline_run_trains_on_phantoms_and_predict_and_evaluate_reload_the_model()
    {
        // 400 phantoms (280 training images) and 3 epochs: about 3 minutes on 2 cores, enough to learn the findings
        // and to check where the heatmaps point.
        string output = Path.Combine(_folder, "offline");
        var run = RecipeProcess.Run("xray", ["--output", output, "--cache", Path.Combine(_folder, "cache"), "--epochs", "3", "--batch-size", "16",
            "--master", "local[2]", "--phantoms", "400"], TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("GENERATED", run.Output);
        Assert.Contains("patients in more than one part: 0", run.Output);

        var root = Metrics(output);
        Assert.Equal("xray", root.GetProperty("recipe").GetString());
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        Assert.Equal(3, root.GetProperty("epochs").GetInt32());
        Assert.Equal(2, root.GetProperty("workers").GetInt32());
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
        var metrics = root.GetProperty("metrics");
        MetricsConvention.AssertFollowed(root);
        Assert.Equal(0, metrics.GetProperty("patient_overlap").GetDouble());
        // Seen here: test mean AUC 0.894, peaks inside the drawn lesion 58% of the time against 18% for a random
        // peak. The bounds leave room for other CPUs and thread counts (other rounding, other batch-norm sums) while
        // still failing a model that did not learn the findings or looks in the wrong place.
        Assert.InRange(metrics.GetProperty("test_mean_auc").GetDouble(), 0.75, 1);
        foreach (string finding in ChestXrayFindings.Names)
            Assert.True(metrics.TryGetProperty($"test_auc_{MetricNames.Part(finding)}", out _), $"no test_auc_{MetricNames.Part(finding)}");
        double inLesion = metrics.GetProperty("heatmap_peak_in_lesion").GetDouble();
        double byChance = metrics.GetProperty("heatmap_peak_in_lesion_by_chance").GetDouble();
        Assert.True(inLesion >= 0.4 && inLesion >= 2 * byChance, $"heatmap peaks inside the lesion {inLesion:P0}, by chance {byChance:P0}");
        foreach (string file in new[] { "model.bin", "model.json", "roc-curves.png", "auc-per-epoch.png", "heatmaps.png", "training.png", "checkpoint/latest.ckpt" })
            Assert.True(new FileInfo(Path.Combine(output, file)).Length > 0, file);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "summary"), "events.out.tfevents.*"));

        // predict: the 14 probabilities of one image, sorted, and the picture with its heatmaps.
        string image = Directory.GetFiles(Path.Combine(output, "data", "phantoms", "images"), "*.png").Order().First();
        string pictures = Path.Combine(_folder, "predicted");
        var predict = RecipeProcess.Run("xray", ["predict", "--model", Path.Combine(output, "model.bin"), image, "--output", pictures]);
        Assert.True(predict.ExitCode == 0, predict.Output + predict.Errors);
        var probabilities = Regex.Matches(predict.Output, @"^\s+(\w+)\s+(\d+(?:\.\d+)?) ?%", RegexOptions.Multiline);
        Assert.Equal(ChestXrayFindings.Count, probabilities.Count);
        Assert.Equal(ChestXrayFindings.Names.Order(), probabilities.Select(m => m.Groups[1].Value).Order());
        var values = probabilities.Select(m => double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(values.OrderByDescending(v => v), values); // most likely first
        Assert.True(new FileInfo(Path.Combine(pictures, Path.GetFileNameWithoutExtension(image) + "-heatmaps.png")).Length > 10_000);

        // evaluate: every labelled image of a folder, no split.
        string evaluation = Path.Combine(_folder, "evaluated");
        var evaluate = RecipeProcess.Run("xray", ["evaluate", "--model", Path.Combine(output, "model.bin"), "--data", Path.Combine(output, "data", "phantoms"), "--output", evaluation]);
        Assert.True(evaluate.ExitCode == 0, evaluate.Output + evaluate.Errors);
        var scored = Metrics(Path.Combine(evaluation, "evaluation"));
        Assert.Equal(400, scored.GetProperty("images").GetInt32());
        Assert.InRange(scored.GetProperty("metrics").GetProperty("test_mean_auc").GetDouble(), 0, 1);
    }

    [Fact]
    public void The_real_starter_sample_trains_on_some_patients_and_is_tested_on_others()
    {
        string output = Path.Combine(_folder, "starter");
        var run = RecipeProcess.Run("xray", [.. Quick(output), "--data", StarterFolder, "--max-samples", "48"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        var root = Metrics(output);
        Assert.Equal("local", root.GetProperty("data_source").GetString());
        Assert.Equal(0, root.GetProperty("metrics").GetProperty("patient_overlap").GetDouble());
        // 414 images of 414 patients, 70/10/20 by patient.
        Assert.InRange(root.GetProperty("test_images").GetInt32(), 75, 90);
        Assert.Equal(48, root.GetProperty("train_images").GetInt32());
        Assert.InRange(root.GetProperty("metrics").GetProperty("test_mean_auc").GetDouble(), 0, 1);
    }

    [Fact]
    public void The_same_command_trains_the_same_model_with_two_replicas()
    {
        // Two processes, one command (two replicas on two threads, dropout in the head): the same split and,
        // within rounding, the same model. Before each replica drew its dropout masks from its own stream, the
        // masks went to whichever thread drew first, and two runs of this very command gave test losses 0.84718 and
        // 0.84667, validation mean AUCs 0.4769 and 0.4740. Same machine and thread count, so the sums run in the same
        // order; the tolerance only leaves room for a kernel that does not (none seen: the figures now match exactly).
        JsonElement Run(string name)
        {
            string output = Path.Combine(_folder, name);
            var run = RecipeProcess.Run("xray", [.. Quick(output), "--data", StarterFolder, "--max-samples", "32"]);
            Assert.True(run.ExitCode == 0, run.Output + run.Errors);
            return Metrics(output);
        }
        var first = Run("repeat-1");
        var second = Run("repeat-2");
        Assert.Equal(first.GetProperty("test_images").GetInt32(), second.GetProperty("test_images").GetInt32());
        foreach (string metric in new[] { "test_loss", "test_mean_auc", "validation_mean_auc" })
        {
            double a = first.GetProperty("metrics").GetProperty(metric).GetDouble(), b = second.GetProperty("metrics").GetProperty(metric).GetDouble();
            Assert.True(Math.Abs(a - b) <= 1e-4, $"{metric}: {a} then {b}");
        }
    }

    [Fact]
    public void A_truncated_image_ends_the_run_with_one_line_naming_it()
    {
        string data = Path.Combine(_folder, "truncated");
        PhantomRadiographs.Generate(data, 40, seed: 3);
        string victim = Directory.GetFiles(Path.Combine(data, "images"), "*.png").Order().First();
        byte[] bytes = File.ReadAllBytes(victim);
        File.WriteAllBytes(victim, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var run = RecipeProcess.Run("xray", [.. Quick(Path.Combine(_folder, "out")), "--data", data]);
        Assert.Equal(1, run.ExitCode);
        string error = run.Errors.Trim();
        Assert.Single(error.Split('\n'));
        Assert.StartsWith("error: ", error);
        Assert.Contains(Path.GetFileName(victim), error);
    }

    [Fact]
    public void A_listed_image_that_is_missing_is_an_error_naming_the_row_or_a_counted_skip()
    {
        string data = Path.Combine(_folder, "missing");
        PhantomRadiographs.Generate(data, 40, seed: 4);
        string victim = Directory.GetFiles(Path.Combine(data, "images"), "*.png").Order().Last();
        File.Delete(victim);
        var run = RecipeProcess.Run("xray", [.. Quick(Path.Combine(_folder, "out")), "--data", data]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains(Path.GetFileName(victim), run.Errors);
        Assert.Contains("line ", run.Errors);

        var skipping = RecipeProcess.Run("xray", [.. Quick(Path.Combine(_folder, "skipping")), "--data", data, "--skip-missing"]);
        Assert.True(skipping.ExitCode == 0, skipping.Output + skipping.Errors);
        Assert.Contains("skipped 1 listed images not found", skipping.Output);
    }
}
