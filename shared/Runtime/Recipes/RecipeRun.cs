using System.Diagnostics;
using Recipes.Runtime.Data;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Training;

namespace Recipes.Runtime.Recipes;

/// <summary>
/// The plumbing of one recipe run, so that a recipe's <c>Program.cs</c> carries only its lesson: the wall clock, the
/// output folder, the training progress display and summaries, trainer settings filled from the common options, and
/// the standard fields of <c>metrics.json</c>. A recipe adds its own validation, schedule and metrics:
/// <code>
/// using var run = RecipeRun.Start(options);
/// using var trainer = new Trainer(CreateModel, CreateOptimizer, Loss, run.Settings with { ValidationMethods = [...] });
/// var result = trainer.Fit(trainSet, validationSet, cancellation);
/// run.WriteReport(data.Name, data.Source, result, metrics, details);
/// </code>
/// </summary>
public sealed class RecipeRun : IDisposable
{
    /// <summary>The folder of the summaries under <see cref="Output"/>.</summary>
    public const string SummaryFolderName = "summary";
    /// <summary>The folder of the checkpoints under <see cref="Output"/>.</summary>
    public const string CheckpointFolderName = "checkpoint";

    readonly Stopwatch _wall;
    readonly bool _checkpoints;
    readonly Func<string, bool>? _showScore;
    ConsoleTrainingProgress? _progress;
    TrainingSummaries? _summaries;

    RecipeRun(CommonOptions options, Stopwatch wall, bool checkpoints, Func<string, bool>? showScore)
    {
        Options = options;
        _wall = wall;
        _checkpoints = checkpoints;
        _showScore = showScore;
    }

    /// <summary>Starts the wall clock and creates <see cref="CommonOptions.Output"/>, where the run writes everything.</summary>
    /// <param name="checkpoints">false for a run that neither checkpoints nor resumes: its settings have no checkpoint
    /// folder and its summaries start afresh, whatever <c>--resume</c> says.</param>
    /// <param name="showScore">which validation scores the progress lines show (all when null): a multi-label model's
    /// per-class scores would crowd out the ones that matter.</param>
    public static RecipeRun Start(CommonOptions options, bool checkpoints = true, Func<string, bool>? showScore = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var wall = Stopwatch.StartNew();
        Directory.CreateDirectory(options.Output);
        return new RecipeRun(options, wall, checkpoints, showScore);
    }

    public CommonOptions Options { get; }

    /// <summary>The folder the run writes its results to.</summary>
    public string Output => Options.Output;

    /// <summary>A file or folder of the run's results: <paramref name="name"/> in <see cref="Output"/>.</summary>
    public string PathTo(string name) => Path.Combine(Output, name);

    /// <summary>Time since <see cref="Start"/>.</summary>
    public TimeSpan Elapsed => _wall.Elapsed;

    /// <summary>Model replicas training together: this process's <c>local[N]</c> times the processes of a cluster or mpi run.</summary>
    public int Workers => Options.LocalMaster.Replicas * Options.Processes.Size;

    /// <summary>The console display of training (created on first use).</summary>
    public ConsoleTrainingProgress Progress => _progress ??= new ConsoleTrainingProgress { ShowScore = _showScore };

    /// <summary>TensorBoard events and the history of the training in <c>&lt;output&gt;/summary</c>, continued by
    /// <c>--resume</c> (created on first use, so a run that trains nothing has no such folder).</summary>
    public TrainingSummaries Summaries => _summaries ??= new TrainingSummaries(PathTo(SummaryFolderName), resume: _checkpoints && Options.Resume);

    /// <summary>
    /// Trainer settings from the common options: global batch, epochs, seed, master, the processes of a cluster or mpi
    /// run, checkpoints in <c>&lt;output&gt;/checkpoint</c> with <c>--resume</c>, the progress display and the summaries
    /// as observers. A recipe adds its own with <c>with { ValidationMethods = ..., Schedule = ... }</c>.
    /// </summary>
    public TrainerSettings Settings => new()
    {
        GlobalBatchSize = Options.BatchSize,
        Epochs = Options.Epochs,
        Seed = Options.Seed,
        Master = Options.LocalMaster,
        Processes = Options.Processes, // cluster mode: this worker's place in the gradient ring
        CheckpointFolder = _checkpoints ? PathTo(CheckpointFolderName) : null,
        Resume = _checkpoints && Options.Resume,
        Observers = [Progress, Summaries],
    };

    /// <summary>
    /// Writes <c>&lt;output&gt;/metrics.json</c> for a run that trained: the standard fields (recipe, data set, data
    /// source, epochs completed, <see cref="Workers"/>, wall seconds; details <c>global_batch</c>, <c>master</c>,
    /// <c>seed</c>) and the recipe's own <paramref name="metrics"/> and <paramref name="details"/>. Returns its path.
    /// </summary>
    public string WriteReport(string dataset, DataSourceKind dataSource, TrainingResult training,
        IReadOnlyDictionary<string, double> metrics, IReadOnlyDictionary<string, object?> details)
    {
        ArgumentNullException.ThrowIfNull(training);
        var standard = new Dictionary<string, object?> { ["global_batch"] = Options.BatchSize, ["master"] = Options.Master, ["seed"] = Options.Seed };
        return Write(dataset, dataSource, training.EpochsCompleted, Workers, metrics, standard, details);
    }

    /// <summary>
    /// Writes <c>&lt;output&gt;/metrics.json</c> for a run that did not train with <see cref="Settings"/>: the standard
    /// fields with the given <paramref name="epochs"/> and <paramref name="workers"/>, the detail <c>seed</c>, and the
    /// recipe's own <paramref name="metrics"/> and <paramref name="details"/>. Returns its path.
    /// </summary>
    public string WriteReport(string dataset, DataSourceKind dataSource, int epochs, int workers,
        IReadOnlyDictionary<string, double> metrics, IReadOnlyDictionary<string, object?> details) =>
        Write(dataset, dataSource, epochs, workers, metrics, new Dictionary<string, object?> { ["seed"] = Options.Seed }, details);

    string Write(string dataset, DataSourceKind dataSource, int epochs, int workers, IReadOnlyDictionary<string, double> metrics,
        Dictionary<string, object?> standardDetails, IReadOnlyDictionary<string, object?> details)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(details);
        var allDetails = new Dictionary<string, object?>(standardDetails);
        foreach (var (key, value) in details)
            if (!allDetails.TryAdd(key, value))
                throw new ArgumentException($"the detail '{key}' is a standard field of metrics.json that the run fills itself", nameof(details));
        var report = new RunReport
        {
            Recipe = Options.Recipe,
            Dataset = dataset,
            DataSource = dataSource,
            Epochs = epochs,
            Workers = workers,
            WallSeconds = _wall.Elapsed.TotalSeconds,
            Metrics = metrics,
            Details = allDetails,
        };
        return report.Write(Output);
    }

    public void Dispose()
    {
        // The order the recipes used to dispose them in: summaries, then the progress display.
        _summaries?.Dispose();
        _progress?.Dispose();
    }
}
