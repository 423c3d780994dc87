using System.Text.Json;
using Recipes.NcfRecommendation;
using Recipes.Runtime.Summaries;
using Recipes.Tests.Recipes;

namespace Recipes.Tests.NcfRecommendation;

/// <summary>Short end-to-end runs of the ncf-recommendation recipe as a separate process (seconds, not minutes).</summary>
public sealed class NcfRecommendationRecipeTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"ncf-recipe-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    string[] Common(string output) => ["--output", output, "--cache", Path.Combine(_folder, "cache"), "--master", "local[2]"];

    static JsonElement Metrics(string folder)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "metrics.json")));
        MetricsConvention.AssertFollowed(document.RootElement);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// Issue 11: on MovieLens-100K the seed's settings (batch 2800, 5 epochs, tuned for ML-1M's ten times as many
    /// ratings) ended worse than predicting the mean. The defaults must beat every constant guess on data of
    /// ML-100K's size and skew: the generated stand-in has its users, movies, ratings, star mix and baselines
    /// (MAE of the mean 0.95 there too). The whole default run takes seconds.
    /// </summary>
    [Fact]
    public void Default_explicit_run_on_ML_100K_sized_data_beats_the_mean_and_the_median()
    {
        string output = Path.Combine(_folder, "ml-100k");
        var run = RecipeProcess.Run("ncf-recommendation", [.. Common(output), "--offline", "--dataset", "ml-100k"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("Beats the baselines", run.Output);
        Assert.DoesNotContain("WARNING", run.Output);

        var root = Metrics(Path.Combine(output, "explicit"));
        Assert.Equal(943, root.GetProperty("users").GetInt32());
        Assert.Equal(1_682, root.GetProperty("movies").GetInt32());
        Assert.Equal(20_000, root.GetProperty("test_ratings").GetInt32());
        Assert.Equal(8_000, root.GetProperty("validation_ratings").GetInt32());
        Assert.True(root.GetProperty("beats_baseline").GetBoolean());
        var metrics = root.GetProperty("metrics");
        double mae = metrics.GetProperty("test_mae").GetDouble();
        double meanMae = metrics.GetProperty("test_mae_train_mean").GetDouble(), medianMae = metrics.GetProperty("test_mae_train_median").GetDouble();
        Assert.InRange(meanMae, 0.9, 1.0); // the stand-in is as hard as the real set, where this is 0.948
        // Margins well beyond run-to-run noise: measured 0.807 against 0.947 and 0.898.
        Assert.True(mae < medianMae - 0.03, $"MAE {mae} against {medianMae} for the training median and {meanMae} for the mean");
        Assert.True(metrics.GetProperty("test_mae_expected_stars").GetDouble() < meanMae - 0.03);
        Assert.True(metrics.GetProperty("test_rmse_expected_stars").GetDouble() < metrics.GetProperty("test_rmse_train_mean").GetDouble() - 0.03);
        // The length came from the data: more than the seed's 5 epochs, stopped by the validation loss, best epoch kept.
        int epochs = root.GetProperty("epochs").GetInt32(), best = (int)metrics.GetProperty("best_epoch").GetDouble();
        Assert.True(root.GetProperty("stopped_early").GetBoolean());
        Assert.InRange(epochs, 6, 49);
        Assert.Equal(epochs - 3, best); // patience 3: three epochs after the best, none better
    }

    /// <summary>The seed's length on the same data (5 epochs, no early stop) falls short, and the run must say so.</summary>
    [Fact]
    public void A_model_that_does_not_beat_its_baseline_says_so_in_the_output_and_in_metrics_json()
    {
        string output = Path.Combine(_folder, "seed-length");
        var run = RecipeProcess.Run("ncf-recommendation", [.. Common(output), "--offline", "--dataset", "ml-100k", "--epochs", "5", "--patience", "0"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("WARNING: the model does not beat its baseline", run.Output);
        var root = Metrics(Path.Combine(output, "explicit"));
        Assert.False(root.GetProperty("beats_baseline").GetBoolean());
        Assert.NotEmpty(root.GetProperty("baseline_shortfalls").EnumerateArray());
        Assert.False(root.GetProperty("stopped_early").GetBoolean());
    }

    [Fact]
    public void Offline_explicit_run_learns_generated_ratings_and_writes_every_result()
    {
        string output = Path.Combine(_folder, "offline");
        var run = RecipeProcess.Run("ncf-recommendation", [.. Common(output), "--offline", "--dataset", "ml-100k", "--epochs", "2", "--batch-size", "512", "--max-samples", "30000"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("GENERATED", run.Output);
        Assert.Contains("Top 10 movies for user", run.Output);

        string folder = Path.Combine(output, "explicit");
        var root = Metrics(folder);
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        Assert.Equal("explicit", root.GetProperty("task").GetString());
        Assert.Equal(30_000, root.GetProperty("train_ratings").GetInt32());
        var metrics = root.GetProperty("metrics");
        foreach (string name in new[] { "test_mae", "test_rmse", "test_mae_expected_stars", "test_rmse_expected_stars", "test_mae_train_mean",
                     "test_rmse_train_mean", "test_mae_train_median", "test_loss", "validation_loss", "validation_mae", "train_loss", "samples_per_second" })
            Assert.True(metrics.GetProperty(name).GetDouble() > 0, name);
        Assert.Equal(10, root.GetProperty("recommended_for_user").GetProperty("movies").GetArrayLength());

        foreach (string file in new[] { "training.png", "stars.png", "model.bin", "model.json", "checkpoint/latest.ckpt", "summary/history.csv" })
            Assert.True(new FileInfo(Path.Combine(folder, file)).Length > 0, file);
        var scalars = TensorBoardEventReader.ReadScalars(Directory.GetFiles(Path.Combine(folder, "summary"), "events.out.tfevents.*").Single());
        Assert.Equal(2, scalars.Count(s => s.Tag == "validation/mae"));
    }

    [Fact]
    public void Offline_implicit_run_ranks_held_out_movies_far_better_than_chance()
    {
        string output = Path.Combine(_folder, "implicit");
        var run = RecipeProcess.Run("ncf-recommendation", [.. Common(output), "--offline", "--dataset", "ml-100k", "--mode", "implicit", "--epochs", "2", "--batch-size", "1024", "--max-samples", "20000"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);

        string folder = Path.Combine(output, "implicit");
        var root = Metrics(folder);
        Assert.Equal(2, root.GetProperty("epochs").GetInt32());
        Assert.Equal(100, root.GetProperty("candidates_per_user").GetInt32());
        Assert.Equal(100_000, root.GetProperty("train_samples_per_epoch").GetInt32()); // 20,000 positives x (1 + 4)
        var metrics = root.GetProperty("metrics");
        double hr = metrics.GetProperty("test_hr@10").GetDouble(), ndcg = metrics.GetProperty("test_ndcg@10").GetDouble();
        Assert.Equal(0.1, metrics.GetProperty("test_hr@10_random").GetDouble());
        Assert.True(hr > 0.3, $"HR@10 {hr}: hardly better than the 0.10 of a random ranking");
        Assert.True(metrics.GetProperty("test_hr@10_popularity").GetDouble() > 0.1);
        Assert.InRange(ndcg, 0.05, hr);
        foreach (string file in new[] { "training.png", "ranking.png", "model.bin", "model.json" })
            Assert.True(new FileInfo(Path.Combine(folder, file)).Length > 0, file);
    }

    [Fact]
    public void A_local_ML_1M_folder_trains_and_a_malformed_line_ends_in_one_line_naming_it()
    {
        // A --data folder in ML-1M's own format, written from a small generated catalogue.
        var (ratings, movies) = MovieLensLikeRatings.Create(MovieLensShape.HundredThousand with { Release = "small", Users = 300, Movies = 400, Ratings = 9_000 }, seed: 11);
        string data = Path.Combine(_folder, "ml-1m");
        Directory.CreateDirectory(data);
        File.WriteAllLines(Path.Combine(data, "ratings.dat"), ratings.Select(r => $"{r.UserId}::{r.MovieId}::{r.Stars}::{r.Timestamp}"));
        File.WriteAllLines(Path.Combine(data, "movies.dat"), movies.Select(m => $"{m.Id}::{m.Title}::{string.Join('|', m.Genres)}"), System.Text.Encoding.Latin1);

        string output = Path.Combine(_folder, "local");
        var run = RecipeProcess.Run("ncf-recommendation", [.. Common(output), "--data", data, "--epochs", "1", "--batch-size", "256"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        var root = Metrics(Path.Combine(output, "explicit"));
        Assert.Equal("local", root.GetProperty("data_source").GetString());
        Assert.Equal(300, root.GetProperty("users").GetInt32());

        File.AppendAllText(Path.Combine(data, "ratings.dat"), "17::4::seven::978300760\n");
        var bad = RecipeProcess.Run("ncf-recommendation", [.. Common(Path.Combine(_folder, "bad")), "--data", data, "--epochs", "1"]);
        Assert.Equal(1, bad.ExitCode);
        string error = bad.Errors.Trim();
        Assert.Single(error.Split('\n'));
        Assert.Equal($"error: {Path.Combine(data, "ratings.dat")}: line {ratings.Count + 1}: rating \"seven\" is not on the scale 1-5 stars in steps of 1", error);
    }
}
