using System.Text.Json;
using Recipes.Runtime.Data.MovieLens;
using Recipes.Runtime.Summaries;

namespace Recipes.Tests.Recipes;

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
        return document.RootElement.Clone();
    }

    [Fact]
    public void Offline_explicit_run_learns_generated_ratings_and_writes_every_result()
    {
        string output = Path.Combine(_folder, "offline");
        var run = RecipeProcess.Run("ncf-recommendation", [.. Common(output), "--offline", "--epochs", "2", "--batch-size", "512", "--max-samples", "30000"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        Assert.Contains("GENERATED", run.Output);
        Assert.Contains("Top 10 movies for user", run.Output);

        string folder = Path.Combine(output, "explicit");
        var root = Metrics(folder);
        Assert.Equal("generated", root.GetProperty("data_source").GetString());
        Assert.Equal("explicit", root.GetProperty("task").GetString());
        var metrics = root.GetProperty("metrics");
        double mae = metrics.GetProperty("mae").GetDouble(), baseline = metrics.GetProperty("mae_train_mean").GetDouble();
        Assert.True(mae < baseline, $"MAE {mae} is no better than predicting the training mean ({baseline})");
        Assert.True(metrics.GetProperty("rmse").GetDouble() > 0 && metrics.GetProperty("samples_per_second").GetDouble() > 0);
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
        var run = RecipeProcess.Run("ncf-recommendation", [.. Common(output), "--offline", "--mode", "implicit", "--epochs", "2", "--batch-size", "1024", "--max-samples", "20000"]);
        Assert.True(run.ExitCode == 0, run.Output + run.Errors);

        string folder = Path.Combine(output, "implicit");
        var root = Metrics(folder);
        Assert.Equal(2, root.GetProperty("epochs").GetInt32());
        Assert.Equal(100, root.GetProperty("candidates_per_user").GetInt32());
        Assert.Equal(100_000, root.GetProperty("train_samples_per_epoch").GetInt32()); // 20,000 positives x (1 + 4)
        var metrics = root.GetProperty("metrics");
        double hr = metrics.GetProperty("hr@10").GetDouble(), ndcg = metrics.GetProperty("ndcg@10").GetDouble();
        Assert.Equal(0.1, metrics.GetProperty("hr@10_random").GetDouble());
        Assert.True(hr > 0.3, $"HR@10 {hr}: hardly better than the 0.10 of a random ranking");
        Assert.InRange(ndcg, 0.05, hr);
        foreach (string file in new[] { "training.png", "ranking.png", "model.bin", "model.json" })
            Assert.True(new FileInfo(Path.Combine(folder, file)).Length > 0, file);
    }

    [Fact]
    public void A_local_ML_1M_folder_trains_and_a_malformed_line_ends_in_one_line_naming_it()
    {
        // A --data folder in ML-1M's own format, written from a small generated catalogue.
        var (ratings, movies) = GeneratedMovieRatings.Create(users: 300, movies: 400, seed: 11);
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
