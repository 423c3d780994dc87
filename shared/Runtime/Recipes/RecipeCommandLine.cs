using System.CommandLine;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Distributed.Cluster;
using Recipes.Runtime.IO;

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

    /// <summary>The processes this run trains with: a cluster worker's ring, or this process alone.</summary>
    public IProcessGroup Processes { get; init; } = SingleProcess.Instance;

    /// <summary>True for <c>--master cluster[N]</c>: this process is the driver and trains nothing itself.</summary>
    public bool IsClusterDriver => ClusterMaster.TryParse(Master, out _);

    /// <summary>The cores this process may use (a cluster worker's share of its machine); null for all of them.</summary>
    public int? Cores { get; init; }

    public LocalMaster LocalMaster => IsClusterDriver ? Distributed.LocalMaster.Parse("local[1]") : Distributed.LocalMaster.Parse(Master, Cores);
}

/// <summary><c>--master cluster[N]</c>: a driver that waits for N worker processes.</summary>
public static partial class ClusterMaster
{
    public static bool TryParse(string master, out int workers)
    {
        var match = Pattern().Match(master.Trim());
        workers = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return match.Success && workers >= 1;
    }

    /// <summary>True for <c>cluster[N]</c> with any N, even one too small to run (so that its error can say so).</summary>
    public static bool LooksLikeCluster(string master) => Pattern().IsMatch(master.Trim());

    [System.Text.RegularExpressions.GeneratedRegex(@"^cluster\[(\d+)\]$")]
    private static partial System.Text.RegularExpressions.Regex Pattern();
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
    Func<ParseResult, CommonOptions, CancellationToken, int>? _train;
    string[] _arguments = [];

    public RecipeCommandLine(string recipe, string description, RecipeDefaults defaults)
    {
        _recipe = recipe;
        Data = new Option<string?>("--data") { Description = "Local copy of the data set in its original format (skips cache and download)" };
        Output = new Option<string>("--output", "-o") { Description = "Folder for metrics.json, summaries, charts and the model", DefaultValueFactory = _ => Path.Combine("artifacts", recipe) };
        Epochs = new Option<int>("--epochs") { Description = "Passes over the training data", DefaultValueFactory = _ => defaults.Epochs };
        BatchSize = new Option<int>("--batch-size") { Description = "Global mini-batch size (split across replicas)", DefaultValueFactory = _ => defaults.BatchSize };
        LearningRate = new Option<double>("--learning-rate") { Description = "Initial learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        Master = new Option<string>("--master") { Description = LocalMaster.AcceptedForms, DefaultValueFactory = _ => "local[*]" };
        ClusterListen = new Option<string?>("--cluster-listen") { Description = "Cluster address to bind (driver default 127.0.0.1:2551, worker default 127.0.0.1:0)" };
        SecretFile = new Option<string?>("--secret-file") { Description = $"File holding the cluster's shared secret (or set {ClusterSecret.EnvironmentVariable})" };
        HalfPrecisionGradients = new Option<bool>("--fp16-gradients") { Description = "Cluster mode: send gradients between workers in half precision (half the bytes; BigDL's FP16 compression)" };
        Join = new Option<string>("--join") { Description = "The driver's cluster address, host:port", Required = true };
        Cores = new Option<int?>("--cores") { Description = "Cores this worker may use (default: all of this machine's, shared with the other workers on it)" };
        Seed = new Option<int>("--seed") { Description = "Seed for splits, shuffling and initial weights", DefaultValueFactory = _ => defaults.Seed };
        MaxSamples = new Option<int?>("--max-samples") { Description = "Use at most this many training samples" };
        Resume = new Option<bool>("--resume") { Description = "Continue from the last checkpoint in the output folder" };
        Offline = new Option<bool>("--offline") { Description = "Never download: use --data, the cache, or generated data" };
        Cache = new Option<string>("--cache") { Description = $"Download cache folder (or set {Runtime.Data.CacheFolder.EnvironmentVariable})", DefaultValueFactory = _ => Runtime.Data.CacheFolder.Default };
        Verbose = new Option<bool>("--verbose") { Description = "Show stack traces on errors" };
        Root = new RootCommand(description);
        foreach (Option option in new Option[] { Data, Output, Epochs, BatchSize, LearningRate, Master, Seed, MaxSamples, Resume, Offline, Cache, Verbose, ClusterListen, SecretFile, HalfPrecisionGradients })
        {
            option.Recursive = true;
            Root.Options.Add(option);
        }
        var worker = new Command("worker", "Join a cluster driver (--master cluster[N]) as a worker and run the job it hands out") { Join, Cores };
        worker.SetAction(RunWorker);
        Root.Subcommands.Add(worker);
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
    public Option<string?> ClusterListen { get; }
    public Option<string?> SecretFile { get; }
    public Option<string> Join { get; }
    public Option<bool> HalfPrecisionGradients { get; }
    public Option<int?> Cores { get; }

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
    /// <summary>With <c>--master cluster[N]</c> the root action runs as the driver instead, and each worker runs
    /// it with the driver's command line.</summary>
    public void SetAction(Func<ParseResult, CommonOptions, CancellationToken, int> run, Command? command = null)
    {
        if (command is null) _train = run;
        (command ?? Root).SetAction(parsed =>
        {
            var options = Bind(parsed);
            if (command is null && options.IsClusterDriver) return RecipeHost.Run(options, cancellation => RunDriver(parsed, options, cancellation));
            if (command is null && options.Master.Trim() == MpiMaster)
                return RecipeHost.Run(options with { Master = "local[1]" }, cancellation => RunMpiRank(parsed, options, cancellation));
            return RecipeHost.Run(options, cancellation =>
            {
                // Training writes its results there: find out now, not after the training, that it cannot.
                if (command is null) OutputFolder.EnsureWritable(options.Output);
                return run(parsed, options, cancellation);
            });
        });
    }

    public int Invoke(string[] args)
    {
        _arguments = args;
        return Root.Parse(args).Invoke();
    }

    const string MpiMaster = "mpi";

    /// <summary><c>--master mpi</c>: this process is one rank of an <c>mpirun</c> job. Like a cluster worker it
    /// trains local[1] on its share of every batch, with its share of this machine's cores, and writes its
    /// results to <c>&lt;output&gt;/workers/&lt;rank&gt;</c>; rank 0 then copies them to <c>&lt;output&gt;</c>.</summary>
    int RunMpiRank(ParseResult parsed, CommonOptions options, CancellationToken cancellation)
    {
        using var group = Distributed.Mpi.MpiProcessGroup.Start();
        var rankOptions = options with
        {
            Master = "local[1]",
            Processes = group,
            Cores = Math.Max(1, Environment.ProcessorCount / Distributed.Mpi.MpiProcessGroup.ProcessesOnThisMachine),
            Output = Path.Combine(options.Output, "workers", group.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        OutputFolder.EnsureWritable(rankOptions.Output);
        Console.WriteLine($"mpi: rank {group.Rank} of {group.Size}, {rankOptions.Cores} core{(rankOptions.Cores == 1 ? "" : "s")}; results in {rankOptions.Output}");
        int exitCode = _train!(parsed, rankOptions, cancellation);
        // Every rank ends with the same weights: rank 0 puts the job's result where a local run writes it.
        if (exitCode == 0 && group.Rank == 0)
        {
            int files = JobResultFolder.CopyInto(rankOptions.Output, options.Output, MpiMaster, group.Rank);
            Console.WriteLine($"mpi: rank 0 wrote the job's results to {options.Output} ({files} files)");
        }
        return exitCode;
    }

    int RunDriver(ParseResult parsed, CommonOptions options, CancellationToken cancellation)
    {
        OutputFolder.EnsureWritable(options.Output);
        ClusterMaster.TryParse(options.Master, out int workers);
        var settings = new ClusterDriverSettings
        {
            Listen = ClusterConfiguration.ParseEndPoint(parsed.GetValue(ClusterListen) ?? "127.0.0.1:2551", "--cluster-listen"),
            Workers = workers,
            Secret = ClusterSecret.Load(parsed.GetValue(SecretFile)),
            HalfPrecision = parsed.GetValue(HalfPrecisionGradients),
            OutputFolder = options.Output,
            JobArguments = index => WorkerArguments(_arguments, Path.Combine(options.Output, "workers", index.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        };
        return ClusterDriver.Run(settings, Console.Out, cancellation);
    }

    /// <summary>The driver's command line as a worker runs it: local training in the worker's own output folder.</summary>
    static string[] WorkerArguments(string[] driverArguments, string output)
    {
        string[] dropped = ["--master", "--output", "-o", "--cluster-listen", "--secret-file"];
        var kept = new List<string>();
        for (int i = 0; i < driverArguments.Length; i++)
        {
            string argument = driverArguments[i];
            if (dropped.Contains(argument)) { i++; continue; }
            if (dropped.Any(option => argument.StartsWith(option + "=", StringComparison.Ordinal) || argument.StartsWith(option + ":", StringComparison.Ordinal))) continue;
            kept.Add(argument);
        }
        return [.. kept, "--master", "local[1]", "--output", output];
    }

    int RunWorker(ParseResult parsed)
    {
        var options = Bind(parsed);
        return RecipeHost.Run(options with { Master = "local[1]" }, cancellation =>
        {
            var settings = new ClusterWorkerSettings
            {
                Driver = ClusterConfiguration.ParseEndPoint(parsed.GetValue(Join)!, "--join"),
                Bind = ClusterConfiguration.ParseEndPoint(parsed.GetValue(ClusterListen) ?? "127.0.0.1:0", "--cluster-listen"),
                Secret = ClusterSecret.Load(parsed.GetValue(SecretFile)),
                Cores = parsed.GetValue(Cores) is int cores
                    ? (cores >= 1 ? cores : throw new ArgumentException("--cores must be at least 1"))
                    : Environment.ProcessorCount,
            };
            return ClusterWorker.Run(settings, (arguments, group) =>
            {
                var job = Root.Parse(arguments);
                if (job.Errors.Count > 0) throw new ArgumentException($"the driver's job has bad options: {job.Errors[0].Message}");
                var jobOptions = Bind(job) with { Processes = group, Cores = group.Cores > 0 ? group.Cores : null };
                return RecipeHost.Run(jobOptions, jobCancellation =>
                {
                    OutputFolder.EnsureWritable(jobOptions.Output);
                    return _train!(job, jobOptions, jobCancellation);
                });
            }, arguments => Bind(Root.Parse(arguments)).Output, Console.Out, cancellation);
        });
    }
}
