using System.CommandLine;
using Recipes.Runtime.Recipes;

namespace Recipes.NcfRecommendation;

/// <summary>Which of the two recommendation tasks to train.</summary>
public enum RecommendationTask
{
    /// <summary>Predict the stars of a (user, movie) pair: the seed's rating classifier.</summary>
    Explicit,
    /// <summary>Rank the movies a user will interact with: the NCF paper's protocol.</summary>
    Implicit,
}

/// <summary>How the explicit task decides its length (see step 5 of Program.cs).</summary>
public static class ExplicitDefaults
{
    /// <summary>A ceiling, reached only when the validation loss keeps improving.</summary>
    public const int MaxEpochs = 50;
    public const int Patience = 3;
    /// <summary>Of the training ratings, held out to choose the epoch.</summary>
    public const double ValidationFraction = 0.1;
}

/// <summary>The NCF paper's settings for the implicit task (He et al. 2017, section 4.1).</summary>
public static class ImplicitDefaults
{
    public const int BatchSize = 256;
    public const int Epochs = 10;
}

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record NcfRecommendationSettings(RecommendationTask Task, MovieLensRelease Release, int TopK, int Patience);

/// <summary>The options this recipe adds to the common ones.</summary>
public sealed class NcfRecommendationOptions
{
    readonly RecipeCommandLine _cli;

    public NcfRecommendationOptions(RecipeCommandLine cli)
    {
        _cli = cli;
        Mode = new Option<RecommendationTask>("--mode")
        {
            Description = "explicit: predict stars (the seed's NeuralCF); implicit: rank the movies a user will watch (the NCF paper's NeuMF)",
            DefaultValueFactory = _ => RecommendationTask.Explicit,
        };
        Dataset = new Option<string>("--dataset") { Description = "MovieLens release to download when there is no --data", DefaultValueFactory = _ => "ml-1m" };
        Dataset.AcceptOnlyFromAmong("ml-1m", "ml-100k", "ml-latest-small");
        TopK = new Option<int>("--top-k") { Description = "Recommendations to show, and the K of HR@K and NDCG@K", DefaultValueFactory = _ => 10 };
        Patience = new Option<int>("--patience")
        {
            Description = "Explicit mode: stop after this many epochs without a better validation loss (0: train all --epochs); the best epoch is kept either way",
            DefaultValueFactory = _ => ExplicitDefaults.Patience,
        };
        cli.Root.Options.Add(Mode);
        cli.Root.Options.Add(Patience);
        cli.Root.Options.Add(Dataset);
        cli.Root.Options.Add(TopK);
    }

    public Option<RecommendationTask> Mode { get; }
    public Option<string> Dataset { get; }
    public Option<int> TopK { get; }
    public Option<int> Patience { get; }

    public NcfRecommendationSettings Read(ParseResult parsed)
    {
        var release = parsed.GetValue(Dataset) switch
        {
            "ml-100k" => MovieLensRelease.HundredThousand,
            "ml-latest-small" => MovieLensRelease.LatestSmall,
            _ => MovieLensRelease.OneMillion,
        };
        int topK = parsed.GetValue(TopK);
        if (topK < 1) throw new ArgumentException("--top-k must be at least 1");
        int patience = parsed.GetValue(Patience);
        if (patience < 0) throw new ArgumentException("--patience must be 0 (off) or more epochs");
        return new NcfRecommendationSettings(parsed.GetValue(Mode), release, topK, patience);
    }

    /// <summary>The common options with the task's own defaults: the implicit task has the paper's settings;
    /// --epochs and --batch-size still override them.</summary>
    public CommonOptions WithTaskDefaults(ParseResult parsed, CommonOptions options) =>
        parsed.GetValue(Mode) != RecommendationTask.Implicit ? options : options with
        {
            Epochs = parsed.GetResult(_cli.Epochs) is { Implicit: false } ? options.Epochs : ImplicitDefaults.Epochs,
            BatchSize = parsed.GetResult(_cli.BatchSize) is { Implicit: false } ? options.BatchSize : ImplicitDefaults.BatchSize,
        };
}
