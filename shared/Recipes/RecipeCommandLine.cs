using System.CommandLine;
using Recipes.Runtime.Distributed;

namespace Recipes.Runtime.Recipes;

/// <summary>The defaults a recipe chooses for the common options (the seed notebook's settings).</summary>
public sealed record RecipeDefaults(int Epochs, int BatchSize, double LearningRate, int Seed = 1);

/// <summary>The options every recipe accepts, after parsing.</summary>
public sealed record CommonOptions
{
    public required string Recipe { get; init; }
    /// <summary>A local copy of the data in its original format; null to use the cache, a download or generated data.</summary>
    public string? Data { get; init; }
    public required string Output { get; init; }
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required string Master { get; init; }
    public required int Seed { get; init; }
    /// <summary>Use at most this many training samples (quick runs, smoke tests).</summary>
    public int? MaxSamples { get; init; }
    public bool Resume { get; init; }
    public bool Verbose { get; init; }
    public bool Offline { get; init; }
    public string CacheFolder { get; init; } = Runtime.Data.CacheFolder.Default;

    public LocalMaster LocalMaster => Distributed.LocalMaster.Parse(Master);
}

/// <summary>
/// Builds a recipe's command line: the common options (<c>--data --output --epochs --batch-size
/// --learning-rate --master --seed --max-samples --resume --offline --cache --verbose</c>) plus whatever the
/// recipe adds, and runs the chosen action through <see cref="RecipeHost"/> so that bad input ends in one
/// clear line and a non-zero exit code.
/// </summary>
public sealed class RecipeCommandLine
{
    readonly string _recipe;

    public RecipeCommandLine(string recipe, string description, RecipeDefaults defaults)
    {
        _recipe = recipe;
        Data = new Option<string?>("--data") { Description = "Local copy of the data set in its original format (skips cache and download)" };
        Output = new Option<string>("--output", "-o") { Description = "Folder for metrics.json, summaries, charts and the model", DefaultValueFactory = _ => Path.Combine("artifacts", recipe) };
        Epochs = new Option<int>("--epochs") { Description = "Passes over the training data", DefaultValueFactory = _ => defaults.Epochs };
        BatchSize = new Option<int>("--batch-size") { Description = "Global mini-batch size (split across replicas)", DefaultValueFactory = _ => defaults.BatchSize };
        LearningRate = new Option<double>("--learning-rate") { Description = "Initial learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        Master = new Option<string>("--master") { Description = "local[*] (one replica per core) or local[N]", DefaultValueFactory = _ => "local[*]" };
        Seed = new Option<int>("--seed") { Description = "Seed for splits, shuffling and initial weights", DefaultValueFactory = _ => defaults.Seed };
        MaxSamples = new Option<int?>("--max-samples") { Description = "Use at most this many training samples" };
        Resume = new Option<bool>("--resume") { Description = "Continue from the last checkpoint in the output folder" };
        Offline = new Option<bool>("--offline") { Description = "Never download: use --data, the cache, or generated data" };
        Cache = new Option<string>("--cache") { Description = $"Download cache folder (or set {Runtime.Data.CacheFolder.EnvironmentVariable})", DefaultValueFactory = _ => Runtime.Data.CacheFolder.Default };
        Verbose = new Option<bool>("--verbose") { Description = "Show stack traces on errors" };
        Root = new RootCommand(description);
        foreach (Option option in new Option[] { Data, Output, Epochs, BatchSize, LearningRate, Master, Seed, MaxSamples, Resume, Offline, Cache, Verbose })
        {
            option.Recursive = true;
            Root.Options.Add(option);
        }
    }

    public RootCommand Root { get; }
    public Option<string?> Data { get; }
    public Option<string> Output { get; }
    public Option<int> Epochs { get; }
    public Option<int> BatchSize { get; }
    public Option<double> LearningRate { get; }
    public Option<string> Master { get; }
    public Option<int> Seed { get; }
    public Option<int?> MaxSamples { get; }
    public Option<bool> Resume { get; }
    public Option<bool> Offline { get; }
    public Option<string> Cache { get; }
    public Option<bool> Verbose { get; }

    public CommonOptions Bind(ParseResult parsed) => new()
    {
        Recipe = _recipe,
        Data = parsed.GetValue(Data),
        Output = Path.GetFullPath(parsed.GetValue(Output)!),
        Epochs = parsed.GetValue(Epochs),
        BatchSize = parsed.GetValue(BatchSize),
        LearningRate = parsed.GetValue(LearningRate),
        Master = parsed.GetValue(Master)!,
        Seed = parsed.GetValue(Seed),
        MaxSamples = parsed.GetValue(MaxSamples),
        Resume = parsed.GetValue(Resume),
        Offline = parsed.GetValue(Offline),
        CacheFolder = Path.GetFullPath(parsed.GetValue(Cache)!),
        Verbose = parsed.GetValue(Verbose),
    };

    /// <summary>Makes <paramref name="run"/> the action of <paramref name="command"/> (the root when null).</summary>
    public void SetAction(Func<ParseResult, CommonOptions, CancellationToken, int> run, Command? command = null) =>
        (command ?? Root).SetAction(parsed =>
        {
            var options = Bind(parsed);
            return RecipeHost.Run(options, cancellation => run(parsed, options, cancellation));
        });

    public int Invoke(string[] args) => Root.Parse(args).Invoke();
}
