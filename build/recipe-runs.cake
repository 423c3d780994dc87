// How build.cake runs a recipe. A recipe's own command line is the one list of its options: every option given
// to Cake goes to the recipe unchanged, except the few that belong to the build script itself.

using System.Diagnostics;
// Cake scripts have File, Directory and Path of their own.
using IODirectory = System.IO.Directory;
using IOFile = System.IO.File;
using IOPath = System.IO.Path;

/// <summary>A recipe target: its name (its folder under recipes/ and its assembly), what it teaches, and the
/// options of its quick smoke run in --target=all.</summary>
sealed record RecipeTarget(string Name, string Description, string[] QuickArguments)
{
    /// <summary>Tasks the target runs one after the other unless --mode picks one (ncf-recommendation: explicit,
    /// then implicit). The recipe writes each to &lt;output&gt;/&lt;mode&gt;.</summary>
    public string[] Modes { get; init; } = [];
}

/// <summary>One recipe process run by --target=all, as the report shows it. Failure says why the process failed
/// (its exit code, the time limit, no built assembly), null when it succeeded.</summary>
sealed record RecipeRun(string Title, string Recipe, string ResultsFolder, IReadOnlyList<string> Arguments,
    string Failure, TimeSpan Elapsed, IReadOnlyList<string> LastErrorLines);

// Options given to Cake that are the build script's, not the recipe's. Cake itself already takes its own
// (--verbosity, --dryrun, --exclusive, ...) before the script sees them.
static readonly string[] BuildScriptOptions = ["target", "configuration", "workers"];

/// <summary>The options given to Cake, in the form the recipe's command line reads them: `--name value` for each
/// value (`--name=value` and `--name value` both reach Cake), `--name` alone for a flag. Cake's configuration keys
/// (`--settings_skipverification=true`: a section, an underscore and a key) are Cake's too.</summary>
List<string> GivenRecipeOptions()
{
    var options = new List<string>();
    foreach (var (name, values) in Context.Arguments.GetArguments())
    {
        if (BuildScriptOptions.Contains(name, StringComparer.OrdinalIgnoreCase) || name.Contains('_')) continue;
        var given = values.Where(value => !string.IsNullOrEmpty(value)).ToList();
        if (given.Count == 0) options.Add($"--{name}");
        foreach (var value in given) options.AddRange([$"--{name}", value]);
    }
    return options;
}

/// <summary>The options for one local run: those given, with `--workers=N` turned into `--master local[N]`.</summary>
List<string> LocalRunOptions()
{
    var options = GivenRecipeOptions();
    if (HasArgument("workers"))
    {
        if (HasArgument("master")) throw new CakeException("give --workers=N or --master=..., not both");
        options.AddRange(["--master", $"local[{Argument<int>("workers")}]"]);
    }
    return options;
}

/// <summary>The recipe's assembly as MSBuild builds it on this machine. Where it lands depends on the platform
/// (the runtime identifier is part of the output path), so ask MSBuild rather than guess.</summary>
string RecipeAssembly(string recipe, string configuration)
{
    var projects = GetFiles($"./recipes/{recipe}/*.csproj");
    if (projects.Count != 1) throw new CakeException($"recipes/{recipe} should hold exactly one project file, found {projects.Count}");
    var query = new ProcessArgumentBuilder().Append("msbuild").AppendQuoted(projects.Single().FullPath)
        .Append("-getProperty:TargetPath").Append($"-property:Configuration={configuration}");
    int exitCode = StartProcess("dotnet", new ProcessSettings { Arguments = query, RedirectStandardOutput = true, RedirectStandardError = true },
        out IEnumerable<string> output, out IEnumerable<string> errors);
    string assembly = output.Select(line => line.Trim()).LastOrDefault(line => line.Length > 0) ?? "";
    if (exitCode != 0 || !IOFile.Exists(assembly))
        throw new CakeException($"{recipe}: no built assembly ('{assembly}'; dotnet msbuild exit code {exitCode}: {string.Join(" ", errors)}); run the Build target");
    return assembly;
}

/// <summary>Runs `dotnet ASSEMBLY ARGUMENTS...` from the repository root, each argument passed as it is (no shell,
/// no quoting to get wrong), and returns its exit code. With <paramref name="lastErrorLines"/> the output is read
/// line by line (echoed as it comes) and the last lines of its error stream are kept; otherwise the recipe writes
/// straight to this console (its progress bars live). Past <paramref name="limit"/> the process (and any it started)
/// is stopped and the result is null.</summary>
int? RunDotNet(string assembly, IEnumerable<string> arguments, IDictionary<string, string> environment = null,
    Queue<string> lastErrorLines = null, TimeSpan? limit = null)
{
    var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, WorkingDirectory = Context.Environment.WorkingDirectory.FullPath };
    start.ArgumentList.Add(assembly);
    foreach (string argument in arguments) start.ArgumentList.Add(argument);
    foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
    bool capture = lastErrorLines is not null;
    start.RedirectStandardOutput = start.RedirectStandardError = capture;
    using var process = Process.Start(start) ?? throw new CakeException($"could not start dotnet {assembly}");
    if (capture)
    {
        const int kept = 20;
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) Console.Out.WriteLine(line.Data); };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is null) return;
            Console.Error.WriteLine(line.Data);
            lock (lastErrorLines) { lastErrorLines.Enqueue(line.Data); while (lastErrorLines.Count > kept) lastErrorLines.Dequeue(); }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }
    if (!process.WaitForExit(limit ?? System.Threading.Timeout.InfiniteTimeSpan))
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return null;
    }
    process.WaitForExit(); // flushes the redirected streams
    return process.ExitCode;
}

/// <summary>A recipe target: runs the recipe with the options given (each mode in turn where the target has modes
/// and no --mode was given).</summary>
void RunRecipeTarget(RecipeTarget recipe, string configuration)
{
    var assembly = RecipeAssembly(recipe.Name, configuration);
    var options = LocalRunOptions();
    var modes = recipe.Modes.Length == 0 || HasArgument("mode") ? new string[] { null } : recipe.Modes;
    foreach (var mode in modes)
    {
        var arguments = new List<string>(options);
        if (mode is not null) arguments.InsertRange(0, ["--mode", mode]);
        Information("dotnet {0} {1}", assembly, ShowArguments(arguments));
        int exitCode = RunDotNet(assembly, arguments) ?? -1;
        if (exitCode != 0) throw new CakeException(exitCode, $"{recipe.Name}{(mode is null ? "" : $" --mode {mode}")} failed with exit code {exitCode}");
    }
}

/// <summary>A cluster job on this machine: the driver (--master cluster[N]) and N worker processes joining it,
/// sharing a secret made up for this run and passed in the environment, never on a command line.</summary>
void RunCluster(string recipe, string configuration, int workers)
{
    if (workers < 1) throw new CakeException("--workers must be at least 1");
    if (HasArgument("master")) throw new CakeException("the cluster target sets --master cluster[N] itself: give --workers=N");
    var assembly = RecipeAssembly(recipe, configuration);
    // The driver binds --cluster-listen (the recipe's option, passed on like any other) or the recipe's default.
    string address = HasArgument("cluster-listen") ? Argument<string>("cluster-listen") : "127.0.0.1:2551";
    var environment = new Dictionary<string, string> { ["RECIPES_CLUSTER_SECRET"] = Guid.NewGuid().ToString("N") };
    var driverArguments = new List<string>(GivenRecipeOptions()) { "--master", $"cluster[{workers}]" };
    if (!HasArgument("cluster-listen")) driverArguments.AddRange(["--cluster-listen", address]);
    var workerArguments = new[] { "worker", "--join", address };

    var started = new List<Process>();
    try
    {
        Information("driver: dotnet {0} {1}", assembly, ShowArguments(driverArguments));
        var driver = StartDotNet(assembly, driverArguments, environment);
        started.Add(driver);
        for (int i = 0; i < workers; i++)
        {
            Information("worker {0}: dotnet {1} {2}", i, assembly, ShowArguments(workerArguments));
            started.Add(StartDotNet(assembly, workerArguments, environment));
        }
        driver.WaitForExit();
        foreach (var worker in started.Skip(1)) worker.WaitForExit(30_000);
        if (driver.ExitCode != 0) throw new CakeException(driver.ExitCode, $"{recipe} cluster job failed with exit code {driver.ExitCode}");
    }
    finally
    {
        foreach (var process in started)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }
}

Process StartDotNet(string assembly, IEnumerable<string> arguments, IDictionary<string, string> environment)
{
    var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, WorkingDirectory = Context.Environment.WorkingDirectory.FullPath };
    start.ArgumentList.Add(assembly);
    foreach (string argument in arguments) start.ArgumentList.Add(argument);
    foreach (var (name, value) in environment) start.Environment[name] = value;
    return Process.Start(start) ?? throw new CakeException($"could not start dotnet {assembly}");
}

/// <summary>--target=all: the recipe's quick smoke run (offline, its quick options, then any common options given
/// to Cake, which replace a quick option of the same name) into &lt;folder&gt;/&lt;recipe&gt;, one run per mode.
/// A failure is recorded, not thrown, so that every recipe runs.</summary>
List<RecipeRun> RunQuick(RecipeTarget recipe, string configuration, string folder, TimeSpan limit)
{
    // The recipe runs in the repository root, where this relative path (shown in the report) resolves too.
    string output = $"{folder}/{recipe.Name}";
    string absoluteOutput = MakeAbsolute(Directory(output)).FullPath;
    // A run that fails must not leave the last run's metrics and charts to be reported as its own.
    if (IODirectory.Exists(absoluteOutput)) IODirectory.Delete(absoluteOutput, recursive: true);
    var given = LocalRunOptions();
    if (given.Contains("--output") || given.Contains("-o")) throw new CakeException("--target=all writes each recipe to artifacts/all/<recipe>: drop --output");
    var quick = WithoutOptions(recipe.QuickArguments, given.Where(token => token.StartsWith("--")).ToHashSet());
    string assembly = null, missing = null;
    try { assembly = RecipeAssembly(recipe.Name, configuration); }
    catch (CakeException error) { missing = error.Message; }

    var runs = new List<RecipeRun>();
    foreach (var mode in recipe.Modes.Length == 0 ? new string[] { null } : recipe.Modes)
    {
        var modeArguments = mode is null ? new string[0] : new[] { "--mode", mode };
        List<string> arguments = [.. modeArguments, "--offline", "--output", output, .. quick, .. given];
        string title = mode is null ? recipe.Name : $"{recipe.Name} ({mode})";
        string results = mode is null ? absoluteOutput : IOPath.Combine(absoluteOutput, mode);
        var lastErrorLines = new Queue<string>();
        Information("== {0}: dotnet {1}.dll {2}", title, recipe.Name, ShowArguments(arguments));
        var stopwatch = Stopwatch.StartNew();
        string failure = missing;
        if (assembly is not null)
        {
            int? exitCode = RunDotNet(assembly, arguments, lastErrorLines: lastErrorLines, limit: limit);
            failure = exitCode switch { 0 => null, null => $"stopped after {limit.TotalMinutes:0} minutes", int code => $"exit code {code}" };
        }
        stopwatch.Stop();
        Information("== {0}: {1} in {2:0} s", title, failure is null ? "passed" : $"FAILED ({failure})", stopwatch.Elapsed.TotalSeconds);
        var errorLines = lastErrorLines.Reverse().SkipWhile(string.IsNullOrWhiteSpace).Reverse().ToList();
        runs.Add(new RecipeRun(title, recipe.Name, results, arguments, failure, stopwatch.Elapsed, errorLines));
    }
    return runs;
}

/// <summary>The arguments without the options named (each option with the values that follow it).</summary>
static List<string> WithoutOptions(IEnumerable<string> arguments, ISet<string> names)
{
    var kept = new List<string>();
    bool dropping = false;
    foreach (string token in arguments)
    {
        if (token.StartsWith("--")) dropping = names.Contains(token);
        if (!dropping) kept.Add(token);
    }
    return kept;
}

/// <summary>A command line as a user could paste it into a POSIX shell.</summary>
static string ShowArguments(IEnumerable<string> arguments) =>
    string.Join(" ", arguments.Select(argument =>
        argument.Length > 0 && argument.All(c => char.IsLetterOrDigit(c) || "-_./=:@%+,".Contains(c)) ? argument : "'" + argument.Replace("'", "'\\''") + "'"));
