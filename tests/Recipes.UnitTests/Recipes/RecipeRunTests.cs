using System.Text.Json;
using Recipes.Runtime.Data;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Training;

namespace Recipes.Tests.Recipes;

/// <summary>The recipe-run helper: output folder, settings from the common options, lazily made summaries and the
/// standard fields of metrics.json.</summary>
public sealed class RecipeRunTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("recipe-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    CommonOptions Options(string name, bool resume = false) => new()
    {
        Recipe = "some-recipe", Output = Path.Combine(_folder, name), Epochs = 4, BatchSize = 24, LearningRate = 0.01,
        Master = "local[3]", Seed = 11, Resume = resume,
    };

    static TrainingResult Trained(int epochs) => new(epochs, Iterations: 40, Interrupted: false, Epochs: [], WallSeconds: 1.5);

    [Fact]
    public void Start_creates_the_output_folder_and_settings_come_from_the_common_options()
    {
        using var run = RecipeRun.Start(Options("run", resume: true));
        Assert.True(Directory.Exists(run.Output));
        var settings = run.Settings;
        Assert.Equal((24, 4, 11, 3), (settings.GlobalBatchSize, settings.Epochs, settings.Seed, settings.Master.Replicas));
        Assert.Equal(Path.Combine(run.Output, "checkpoint"), settings.CheckpointFolder);
        Assert.True(settings.Resume);
        Assert.Equal(2, settings.Observers.Count);
        Assert.Same(run.Progress, settings.Observers[0]);
        Assert.Same(run.Summaries, settings.Observers[1]);
        Assert.Equal(3, run.Workers);
    }

    [Fact]
    public void A_run_without_checkpoints_neither_checkpoints_nor_resumes()
    {
        using var run = RecipeRun.Start(Options("no-checkpoints", resume: true), checkpoints: false);
        Assert.Null(run.Settings.CheckpointFolder);
        Assert.False(run.Settings.Resume);
    }

    [Fact]
    public void Summaries_are_made_only_when_used()
    {
        string output;
        using (var run = RecipeRun.Start(Options("untrained")))
        {
            output = run.Output;
            run.WriteReport("pictures", DataSourceKind.Generated, epochs: 0, workers: 2, new Dictionary<string, double>(), new Dictionary<string, object?>());
        }
        Assert.False(Directory.Exists(Path.Combine(output, "summary")));
        Assert.True(File.Exists(Path.Combine(output, "metrics.json")));
    }

    [Fact]
    public void A_training_report_has_the_standard_fields_and_the_recipes_own()
    {
        using var run = RecipeRun.Start(Options("trained"));
        string path = run.WriteReport("digits", DataSourceKind.Generated, Trained(epochs: 3),
            new Dictionary<string, double> { ["test_accuracy"] = 0.9 }, new Dictionary<string, object?> { ["model"] = "model.bin" });

        Assert.Equal(Path.Combine(run.Output, "metrics.json"), path);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        Assert.Equal("some-recipe", root.GetProperty("recipe").GetString());
        Assert.Equal("digits", root.GetProperty("dataset").GetString());
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        Assert.Equal(3, root.GetProperty("epochs").GetInt32());
        Assert.Equal(3, root.GetProperty("workers").GetInt32()); // local[3] in one process
        Assert.True(root.GetProperty("wall_seconds").GetDouble() >= 0);
        Assert.Equal(0.9, root.GetProperty("metrics").GetProperty("test_accuracy").GetDouble());
        Assert.Equal(24, root.GetProperty("global_batch").GetInt32());
        Assert.Equal("local[3]", root.GetProperty("master").GetString());
        Assert.Equal(11, root.GetProperty("seed").GetInt32());
        Assert.Equal("model.bin", root.GetProperty("model").GetString());
    }

    [Fact]
    public void A_report_without_training_has_its_epochs_and_workers_and_only_the_seed_of_the_standard_details()
    {
        using var run = RecipeRun.Start(Options("features"));
        string path = run.WriteReport("pictures", DataSourceKind.Local, epochs: 0, workers: 2,
            new Dictionary<string, double> { ["precision@1"] = 1 }, new Dictionary<string, object?> { ["k"] = 5 });

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        Assert.Equal((0, 2), (root.GetProperty("epochs").GetInt32(), root.GetProperty("workers").GetInt32()));
        Assert.Equal(11, root.GetProperty("seed").GetInt32());
        Assert.Equal(5, root.GetProperty("k").GetInt32());
        Assert.False(root.TryGetProperty("global_batch", out _));
        Assert.False(root.TryGetProperty("master", out _));
    }

    [Fact]
    public void A_recipe_detail_that_repeats_a_standard_field_is_refused()
    {
        using var run = RecipeRun.Start(Options("duplicate"));
        var error = Assert.Throws<ArgumentException>(() => run.WriteReport("digits", DataSourceKind.Generated, Trained(epochs: 1),
            new Dictionary<string, double>(), new Dictionary<string, object?> { ["seed"] = 3 }));
        Assert.Contains("'seed'", error.Message);
        Assert.False(File.Exists(run.PathTo("metrics.json")));
    }
}
